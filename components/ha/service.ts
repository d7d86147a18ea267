import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { CONTAINER_DATA_DIR, DATA_LAYOUT, PORTS, SHUTDOWN_GRACE_MS } from '../../app/src/contract';
import { agentLogsSection, LOG_RETENTION_DAYS, renderScrapeConfig } from '../shared/cloudwatchAgent';
import { ecrImage } from '../shared/ecrImage';

export interface ServiceArgs {
  build: { context: string; dockerfile: string; baseImage?: string };
  /** The bot's environment (Secrets.botEnvironment plus REDIS_URL), a secret: it reaches the tasks through Secrets Manager only. */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Its names, plain: the container definition lists them. */
  environmentNames: pulumi.Input<string[]>;
  /** Value of the Stack dimension on the bot's metrics, as on the single host. */
  stack: string;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  targetGroupArn: pulumi.Input<string>;
  /** `<alb arn suffix>/<target group arn suffix>`: the request-count scaling metric's label. */
  requestCountLabel: pulumi.Input<string>;
  fileSystem: { id: pulumi.Input<string>; arn: pulumi.Input<string>; accessPointId: pulumi.Input<string>; accessPointArn: pulumi.Input<string> };
  minReplicas: number;
  maxReplicas: number;
  region: pulumi.Input<string>;
}

/** Fargate's 0.5 vCPU / 1 GiB: the gateway proxies model calls and needs little of either; scaling adds tasks. */
export const TASK_CPU = 512;
export const TASK_MEMORY = 1024;
/** Graviton: about 20% below x86 Fargate's price. */
const ARCHITECTURE = 'arm64';
/** Targets of the two scaling policies: requests a minute per task, and the service's average CPU. */
export const REQUESTS_PER_TARGET = 600;
export const CPU_TARGET_PERCENT = 60;
/** Pinned: an agent release is a deliberate change, rolled out like the bot's. */
export const AGENT_IMAGE = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300059.0b1207';
/** Images ECR keeps: enough for the circuit breaker's rollback and a manual one to an older release. */
const KEEP_IMAGES = 10;
const GATEWAY = 'gateway';
const AGENT = 'cloudwatch-agent';
const LOGS_VOLUME = 'logs';
const DATA_VOLUME = 'data';
/** Where the agent sidecar sees the gateway's log files. */
const AGENT_LOGS_DIR = '/clawdbot-logs';

/** The cluster's and the service's names, fixed so that alarms can name them before the service exists. */
export function serviceNames(name: string): { clusterName: string; serviceName: string } {
  return { clusterName: name, serviceName: `${name}-gateway` };
}

/**
 * The gateway on ECS Fargate: its image in ECR, a task of the gateway and a CloudWatch agent
 * beside it (the bot's log files and its Prometheus metrics to CloudWatch, as the single host's
 * agent does), the data dir on EFS, the secrets from Secrets Manager, and a service over two zones
 * behind the load balancer that deploys by rolling (never below the desired count, rolled back by
 * the circuit breaker when the new tasks fail their checks) and scales on requests and CPU.
 */
export class Service extends pulumi.ComponentResource {
  public readonly clusterName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;
  /** repository@sha256:...: what the task definition runs, so a new image is a new deployment. */
  public readonly imageDigest: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:Service', name, {}, opts);
    const child = { parent: this };

    const buildArgs = args.build.baseImage ? { BASE_IMAGE: args.build.baseImage } : undefined;
    const { repository, image } = ecrImage(
      name,
      { build: { context: args.build.context, dockerfile: args.build.dockerfile, platform: `linux/${ARCHITECTURE}`, args: buildArgs }, keepImages: KEEP_IMAGES, keepReason: 'keep the releases a rollback may return to' },
      this,
    );
    this.repositoryUrl = repository.repositoryUrl;
    this.imageDigest = image.repoDigest;

    const logGroup = (suffix: string) => new aws.cloudwatch.LogGroup(`${name}-${suffix}`, { name: `/${name}/${suffix}`, retentionInDays: LOG_RETENTION_DAYS }, child);
    const containerLogs = logGroup('containers');
    const appLogs = logGroup('app');
    const metricLogs = logGroup('prometheus');
    this.logGroupName = containerLogs.name;

    const secret = new aws.secretsmanager.Secret(`${name}-bot-env`, { description: `${name}: the gateway's environment, read by ECS at task start`, recoveryWindowInDays: 7 }, child);
    new aws.secretsmanager.SecretVersion(`${name}-bot-env`, { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(args.environment)) }, child);

    const tasksPrincipal = aws.iam.assumeRolePolicyForPrincipal({ Service: aws.getServicePrincipalOutput({ serviceName: 'ecs-tasks' }, child).name });
    const executionRole = new aws.iam.Role(`${name}-execution`, { description: `${name}: ECS pulls the image, writes the container logs and reads the gateway's secret`, assumeRolePolicy: tasksPrincipal }, child);
    new aws.iam.RolePolicyAttachment(`${name}-execution`, { role: executionRole.name, policyArn: aws.iam.ManagedPolicy.AmazonECSTaskExecutionRolePolicy }, child);
    new aws.iam.RolePolicy(
      `${name}-execution-secret`,
      { role: executionRole.name, policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [secret.arn] }] } },
      child,
    );

    const taskRole = new aws.iam.Role(`${name}-task`, { description: `${name}: the gateway mounts its data, the agent ships logs and metrics`, assumeRolePolicy: tasksPrincipal }, child);
    new aws.iam.RolePolicy(
      `${name}-task`,
      {
        role: taskRole.name,
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'MountDataThroughItsAccessPoint',
              Effect: 'Allow',
              Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
              Resource: [args.fileSystem.arn],
              Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': args.fileSystem.accessPointArn } },
            },
            {
              Sid: 'AgentWritesLogsAndMetrics',
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
              Resource: [appLogs.arn, metricLogs.arn].flatMap((arn) => [arn, pulumi.interpolate`${arn}:*`]),
            },
          ],
        },
      },
      child,
    );

    const awsLogs = (prefix: string) => ({ logDriver: 'awslogs', options: { 'awslogs-group': containerLogs.name, 'awslogs-region': args.region, 'awslogs-stream-prefix': prefix } });
    const containerDefinitions = pulumi
      .all([image.repoDigest, secret.arn, args.environmentNames, appLogs.name, metricLogs.name, awsLogs(GATEWAY), awsLogs(AGENT)])
      .apply(([digest, secretArn, names, appLogGroup, metricLogGroup, gatewayLogs, agentLogs]) =>
        JSON.stringify([
          {
            name: GATEWAY,
            image: digest,
            essential: true,
            portMappings: [{ containerPort: PORTS.gateway, protocol: 'tcp' }],
            // Every value from the secret, none in plain `environment`.
            secrets: [...names].sort().map((variable) => ({ name: variable, valueFrom: `${secretArn}:${variable}::` })),
            mountPoints: [
              { sourceVolume: DATA_VOLUME, containerPath: CONTAINER_DATA_DIR, readOnly: false },
              { sourceVolume: LOGS_VOLUME, containerPath: `${CONTAINER_DATA_DIR}/${DATA_LAYOUT.logs}`, readOnly: false },
            ],
            // SIGTERM, then the gateway's grace, then a margin before SIGKILL.
            stopTimeout: Math.ceil(SHUTDOWN_GRACE_MS / 1000) + 5,
            logConfiguration: gatewayLogs,
          },
          {
            name: AGENT,
            image: AGENT_IMAGE,
            essential: false,
            environment: [
              {
                name: 'CW_CONFIG_CONTENT',
                value: JSON.stringify({
                  agent: { omit_hostname: true },
                  // Each task's files get streams of their own.
                  logs: agentLogsSection({ prometheusConfigPath: 'env:PROMETHEUS_CONFIG_CONTENT', prometheusLogGroup: metricLogGroup, appLogGroup, logsDir: AGENT_LOGS_DIR }, '{hostname}'),
                }),
              },
              // The task's containers share one network namespace: the metrics port on 127.0.0.1 is the gateway's.
              { name: 'PROMETHEUS_CONFIG_CONTENT', value: renderScrapeConfig({ target: `127.0.0.1:${PORTS.metrics}`, stack: args.stack }) },
            ],
            mountPoints: [{ sourceVolume: LOGS_VOLUME, containerPath: AGENT_LOGS_DIR, readOnly: true }],
            logConfiguration: agentLogs,
          },
        ]),
      );

    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-gateway`,
      {
        family: `${name}-gateway`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(TASK_CPU),
        memory: String(TASK_MEMORY),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: ARCHITECTURE.toUpperCase() },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
        volumes: [
          {
            name: DATA_VOLUME,
            efsVolumeConfiguration: {
              fileSystemId: args.fileSystem.id,
              transitEncryption: 'ENABLED',
              authorizationConfig: { accessPointId: args.fileSystem.accessPointId, iam: 'ENABLED' },
            },
          },
          // The task's own disk: log files are per task, kept out of the shared data dir as on the single host.
          { name: LOGS_VOLUME },
        ],
      },
      child,
    );

    const names = serviceNames(name);
    const cluster = new aws.ecs.Cluster(`${name}`, { name: names.clusterName }, child);
    this.clusterName = cluster.name;
    const service = new aws.ecs.Service(
      `${name}-gateway`,
      {
        name: names.serviceName,
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: args.minReplicas,
        // A rolling deploy starts the new tasks first and stops an old one only once a new one is
        // healthy; a release whose tasks keep failing is rolled back to the last good one.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // `pulumi up` waits for the rollout, and fails when the circuit breaker rolled it back.
        waitForSteadyState: true,
        healthCheckGracePeriodSeconds: 30,
        availabilityZoneRebalancing: 'ENABLED',
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: true },
        loadBalancers: [{ targetGroupArn: args.targetGroupArn, containerName: GATEWAY, containerPort: PORTS.gateway }],
        propagateTags: 'SERVICE',
      },
      // Auto scaling owns the count once the service exists.
      { ...child, ignoreChanges: ['desiredCount'] },
    );
    this.serviceName = service.name;

    const scaling = new aws.appautoscaling.Target(
      `${name}-gateway`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: args.minReplicas,
        maxCapacity: args.maxReplicas,
      },
      child,
    );
    const trackTarget = (suffix: string, targetValue: number, predefinedMetricSpecification: aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification) =>
      new aws.appautoscaling.Policy(
        `${name}-${suffix}`,
        {
          policyType: 'TargetTrackingScaling',
          serviceNamespace: scaling.serviceNamespace,
          scalableDimension: scaling.scalableDimension,
          resourceId: scaling.resourceId,
          // Out fast, in slowly: a burst of IM traffic should not flap the count.
          targetTrackingScalingPolicyConfiguration: { targetValue, predefinedMetricSpecification, scaleOutCooldown: 60, scaleInCooldown: 300 },
        },
        child,
      );
    trackTarget('scale-on-requests', REQUESTS_PER_TARGET, { predefinedMetricType: 'ALBRequestCountPerTarget', resourceLabel: args.requestCountLabel });
    trackTarget('scale-on-cpu', CPU_TARGET_PERCENT, { predefinedMetricType: 'ECSServiceAverageCPUUtilization' });

    this.registerOutputs({
      clusterName: this.clusterName,
      serviceName: this.serviceName,
      repositoryUrl: this.repositoryUrl,
      imageDigest: this.imageDigest,
      logGroupName: this.logGroupName,
    });
  }
}
