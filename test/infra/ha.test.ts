import { PORTS, ROUTES, SHUTDOWN_GRACE_MS, METRICS, SHARED_DATA_DIR_VARIABLE } from '../../app/src/contract';
import { isSecretValue, simulate, SimulationError, type SimulateOptions, type Simulation } from '../../infra/simulate';
import { inputs, named, ofType, only, strings, waitsFor } from './graph';

// The ha tier (tier: ha): the whole program (infra/index.ts) under Pulumi's mocks for the
// committed dev and prod stack files with the tier switched on, as the operator would with
// `pulumi config set tier ha` (dev also gets a domain: HTTPS needs one). Every assertion is on the
// resulting resource graph.

// A whole-program simulation takes seconds on a busy 2-core machine; the default 5 s is not a bound
// on anything this suite asserts.
jest.setTimeout(60_000);

const HA = { tier: 'ha', domain: 'example.com' };
let dev: Simulation;
let prod: Simulation;

beforeAll(async () => {
  dev = await simulate('dev', { config: HA });
  prod = await simulate('prod', { config: HA });
});

const stacks = () => [dev, prod];
const containers = (simulation: Simulation) => JSON.parse(inputs(only(simulation, 'aws:ecs/taskDefinition:TaskDefinition')).containerDefinitions) as any[];
const gateway = (simulation: Simulation) => containers(simulation).find((container) => container.name === 'gateway');
const alarmNamed = (simulation: Simulation, key: string) => inputs(named(simulation, `clawdbot-${simulation.stack}-${key}`));

describe('ha tier: engine', () => {
  it('runs no EC2 host and no SSH step: the single host is not built beside it', () => {
    for (const simulation of stacks()) {
      expect(ofType(simulation, 'aws:ec2/instance:Instance')).toEqual([]);
      expect(simulation.resources.filter((r) => r.type.startsWith('command:'))).toEqual([]);
    }
  });

  it('spreads over two availability zones: one public subnet in each, all used by the service, the load balancer, Redis and EFS', () => {
    for (const simulation of stacks()) {
      const subnets = ofType(simulation, 'aws:ec2/subnet:Subnet');
      const zones = new Set(subnets.map((subnet) => inputs(subnet).availabilityZone));
      expect(zones.size).toBeGreaterThanOrEqual(2);
      const ids = subnets.map((subnet) => `${subnet.name}-id`).sort();
      expect([...inputs(only(simulation, 'aws:ecs/service:Service')).networkConfiguration.subnets].sort()).toEqual(ids);
      expect([...inputs(only(simulation, 'aws:lb/loadBalancer:LoadBalancer')).subnets].sort()).toEqual(ids);
      expect([...inputs(only(simulation, 'aws:elasticache/subnetGroup:SubnetGroup')).subnetIds].sort()).toEqual(ids);
      expect(ofType(simulation, 'aws:efs/mountTarget:MountTarget').map((target) => inputs(target).subnetId).sort()).toEqual(ids);
    }
  });

  it('deploys by rolling: never below the desired healthy count, rolled back by the circuit breaker, and `pulumi up` waits for it', () => {
    for (const simulation of stacks()) {
      const service = inputs(only(simulation, 'aws:ecs/service:Service'));
      expect(service).toMatchObject({
        launchType: 'FARGATE',
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        waitForSteadyState: true,
        desiredCount: 2,
      });
      expect(only(simulation, 'aws:ecs/service:Service').ignoreChanges).toEqual(['desiredCount']);
    }
  });

  it('runs the image by its digest from an ECR repository that scans pushes and expires old images, so a new image is a new deployment', async () => {
    for (const simulation of stacks()) {
      expect(inputs(only(simulation, 'aws:ecr/repository:Repository')).imageScanningConfiguration).toEqual({ scanOnPush: true });
      const rules = JSON.parse(inputs(only(simulation, 'aws:ecr/lifecyclePolicy:LifecyclePolicy')).policy).rules;
      expect(rules[0].action).toEqual({ type: 'expire' });
      expect(gateway(simulation).image).toMatch(/^123456789012\.dkr\.ecr\.ap-southeast-1\.amazonaws\.com\/clawdbot-\w+-image@sha256:[0-9a-f]{64}$/);
      expect(simulation.outputs.imageDigest).toBe(gateway(simulation).image);
    }
    const rebuilt = await simulate('prod', { config: { ...HA, baseImage: 'registry.example.cn/library/node:22-bookworm-slim' } });
    expect(gateway(rebuilt).image).not.toBe(gateway(prod).image);
  });
});

describe('ha tier: in front', () => {
  it('serves HTTPS on 443 with an ACM certificate validated through a Route53 record, and redirects HTTP to it', () => {
    for (const simulation of stacks()) {
      const certificate = only(simulation, 'aws:acm/certificate:Certificate');
      expect(inputs(certificate)).toMatchObject({ domainName: 'bot.example.com', validationMethod: 'DNS' });
      const validation = only(simulation, 'aws:acm/certificateValidation:CertificateValidation');
      const record = named(simulation, `clawdbot-${simulation.stack}-cert-validation`);
      expect(inputs(validation).validationRecordFqdns).toEqual([inputs(record).name]);
      expect(inputs(record).type).toBe('CNAME');
      const https = inputs(named(simulation, `clawdbot-${simulation.stack}-https`));
      expect(https).toMatchObject({ port: PORTS.https, protocol: 'HTTPS', certificateArn: `arn:aws:acm:ap-southeast-1:123456789012:clawdbot-${simulation.stack}-cert` });
      expect(waitsFor(simulation, named(simulation, `clawdbot-${simulation.stack}-https`), validation)).toBe(true);
      expect(https.sslPolicy).toMatch(/TLS13/);
      const http = inputs(named(simulation, `clawdbot-${simulation.stack}-http`));
      expect(http.defaultActions).toEqual([expect.objectContaining({ type: 'redirect', redirect: expect.objectContaining({ protocol: 'HTTPS', port: String(PORTS.https) }) })]);
    }
  });

  it('points the DNS name at the load balancer with an alias', () => {
    for (const simulation of stacks()) {
      const record = inputs(named(simulation, `clawdbot-${simulation.stack}-host`));
      expect(record).toMatchObject({ name: 'bot.example.com', type: 'A' });
      expect(record.aliases).toEqual([{ name: expect.stringContaining('.elb.amazonaws.com'), zoneId: 'Z1LMS91P8CMLE5', evaluateTargetHealth: true }]);
      expect(simulation.outputs.publicUrl).toBe('https://bot.example.com');
    }
  });

  it('forwards to the gateway port 18789 on the tasks, healthy only while /ready answers, draining as long as the gateway shuts down', () => {
    for (const simulation of stacks()) {
      const targetGroup = inputs(only(simulation, 'aws:lb/targetGroup:TargetGroup'));
      expect(targetGroup).toMatchObject({ port: PORTS.gateway, protocol: 'HTTP', targetType: 'ip' });
      expect(targetGroup.healthCheck).toMatchObject({ path: ROUTES.ready, matcher: '200' });
      expect(targetGroup.deregistrationDelay * 1000).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS);
      expect(gateway(simulation).portMappings).toEqual([{ containerPort: PORTS.gateway, protocol: 'tcp' }]);
      // Docker's SIGKILL comes only after the gateway's grace.
      expect(gateway(simulation).stopTimeout * 1000).toBeGreaterThan(SHUTDOWN_GRACE_MS);
    }
  });

  it('lets the internet reach only the load balancer, the load balancer only the gateway port, the tasks only Redis and EFS', () => {
    for (const simulation of stacks()) {
      const group = (suffix: string) => inputs(only(simulation, 'aws:ec2/securityGroup:SecurityGroup', `clawdbot-${simulation.stack}-${suffix}`)).ingress as any[];
      const id = (suffix: string) => `clawdbot-${simulation.stack}-${suffix}-id`;
      expect(group('lb').map((rule) => rule.fromPort).sort()).toEqual([PORTS.https, 80].sort());
      expect(group('tasks')).toEqual([expect.objectContaining({ fromPort: PORTS.gateway, toPort: PORTS.gateway, securityGroups: [id('lb')] })]);
      expect(group('tasks')[0].cidrBlocks).toBeUndefined();
      expect(group('cache')).toEqual([expect.objectContaining({ fromPort: 6379, securityGroups: [id('tasks')] })]);
      expect(group('efs')).toEqual([expect.objectContaining({ fromPort: 2049, securityGroups: [id('tasks')] })]);
    }
  });
});

describe('ha tier: state', () => {
  it('is a Multi-AZ Valkey replication group with automatic failover, a replica, encryption in transit and at rest, and a generated auth token kept secret', () => {
    for (const simulation of stacks()) {
      const resource = only(simulation, 'aws:elasticache/replicationGroup:ReplicationGroup');
      const group = inputs(resource);
      expect(group).toMatchObject({ engine: 'valkey', multiAzEnabled: true, automaticFailoverEnabled: true, atRestEncryptionEnabled: true, transitEncryptionEnabled: true });
      expect(group.numCacheClusters).toBeGreaterThanOrEqual(2);
      expect(isSecretValue(resource.inputs.authToken)).toBe(true);
      expect(group.authToken).toMatch(/^[A-Za-z0-9]{64}$/);
      expect(resource.additionalSecretOutputs).toContain('authToken');
    }
  });

  it('reaches the tasks as a rediss:// REDIS_URL with the token, through the secret only', () => {
    for (const simulation of stacks()) {
      const version = only(simulation, 'aws:secretsmanager/secretVersion:SecretVersion');
      expect(isSecretValue(version.inputs.secretString)).toBe(true);
      const environment = JSON.parse(inputs(version).secretString);
      const token = inputs(only(simulation, 'aws:elasticache/replicationGroup:ReplicationGroup')).authToken;
      expect(environment.REDIS_URL).toBe(`rediss://:${token}@master.clawdbot-${simulation.stack}-cache.cache.amazonaws.com:6379`);
    }
  });

  it('tells the gateway that replicas share its data dir, so each writes conversation files of its own', () => {
    for (const simulation of stacks()) {
      const environment = JSON.parse(inputs(only(simulation, 'aws:secretsmanager/secretVersion:SecretVersion')).secretString);
      expect(environment[SHARED_DATA_DIR_VARIABLE]).toBe('true');
    }
  });
});

describe('ha tier: secrets', () => {
  it('reach the gateway through `secrets` of the container definition, every variable of the secret and none in `environment`', () => {
    for (const simulation of stacks()) {
      const secretArn = `arn:aws:secretsmanager:ap-southeast-1:123456789012:clawdbot-${simulation.stack}-bot-env`;
      const environment = JSON.parse(inputs(only(simulation, 'aws:secretsmanager/secretVersion:SecretVersion')).secretString);
      const container = gateway(simulation);
      expect(container.environment).toBeUndefined();
      expect(container.secrets).toEqual(Object.keys(environment).sort().map((name) => ({ name, valueFrom: `${secretArn}:${name}::` })));
      for (const name of ['CLAWDBOT_API_KEYS', 'CLAWDBOT_ADMIN_TOKEN', 'MODEL_API_KEY', 'REDIS_URL']) expect(Object.keys(environment)).toContain(name);
      // No value of the secret appears anywhere in the task definition.
      const values = Object.values(environment).filter((value): value is string => typeof value === 'string' && value.length >= 16);
      const taskDefinition = JSON.stringify(inputs(only(simulation, 'aws:ecs/taskDefinition:TaskDefinition')));
      expect(values.filter((value) => taskDefinition.includes(value))).toEqual([]);
    }
  });

  it('channel secrets go the same way', async () => {
    const withChannels = await simulate('prod', { config: { ...HA, dingtalkAppKey: 'dingappkey', feishuAppId: 'cli_0123456789abcdef' } });
    const names = gateway(withChannels).secrets.map((secret: { name: string }) => secret.name);
    expect(names).toEqual(expect.arrayContaining(['DINGTALK_APP_SECRET', 'DINGTALK_AES_KEY', 'FEISHU_APP_SECRET', 'FEISHU_VERIFICATION_TOKEN', 'FEISHU_ENCRYPT_KEY']));
  });

  it('may be read by the task execution role, and exactly that secret', () => {
    for (const simulation of stacks()) {
      const policy = inputs(named(simulation, `clawdbot-${simulation.stack}-execution-secret`)).policy;
      const statements = (typeof policy === 'string' ? JSON.parse(policy) : policy).Statement;
      expect(statements).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [`arn:aws:secretsmanager:ap-southeast-1:123456789012:clawdbot-${simulation.stack}-bot-env`] }]);
      expect(inputs(only(simulation, 'aws:ecs/taskDefinition:TaskDefinition')).executionRoleArn).toBe(`arn:aws:iam::123456789012:role/clawdbot-${simulation.stack}-execution`);
    }
  });
});

describe('ha tier: scale', () => {
  it('tracks requests per target and service CPU between haMinReplicas and haMaxReplicas (2 and 6 by default)', async () => {
    const sized = await simulate('prod', { config: { ...HA, haMinReplicas: 3, haMaxReplicas: 12 } });
    for (const [simulation, min, max] of [[dev, 2, 6], [prod, 2, 6], [sized, 3, 12]] as const) {
      const target = inputs(only(simulation, 'aws:appautoscaling/target:Target'));
      expect(target).toMatchObject({ serviceNamespace: 'ecs', scalableDimension: 'ecs:service:DesiredCount', minCapacity: min, maxCapacity: max });
      expect(inputs(only(simulation, 'aws:ecs/service:Service')).desiredCount).toBe(min);
      const metrics = ofType(simulation, 'aws:appautoscaling/policy:Policy').map((policy) => {
        const { policyType, targetTrackingScalingPolicyConfiguration: tracking } = inputs(policy);
        expect(policyType).toBe('TargetTrackingScaling');
        return tracking.predefinedMetricSpecification;
      });
      const lb = only(simulation, 'aws:lb/loadBalancer:LoadBalancer').name;
      expect(metrics).toEqual(
        expect.arrayContaining([
          { predefinedMetricType: 'ALBRequestCountPerTarget', resourceLabel: expect.stringMatching(new RegExp(`^app/${lb}/\\w+/targetgroup/`)) },
          { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        ]),
      );
    }
  });
});

describe('ha tier: data and backups', () => {
  it('mounts an encrypted EFS file system as the data dir, through an access point owned by the image\'s user, over TLS with IAM', () => {
    for (const simulation of stacks()) {
      expect(inputs(only(simulation, 'aws:efs/fileSystem:FileSystem')).encrypted).toBe(true);
      const accessPoint = inputs(only(simulation, 'aws:efs/accessPoint:AccessPoint'));
      expect(accessPoint.posixUser).toEqual({ uid: 10001, gid: 10001 });
      const volume = inputs(only(simulation, 'aws:ecs/taskDefinition:TaskDefinition')).volumes.find((v: any) => v.efsVolumeConfiguration);
      expect(volume.efsVolumeConfiguration).toMatchObject({ transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED', accessPointId: `clawdbot-${simulation.stack}-data-id` } });
      expect(gateway(simulation).mountPoints).toContainEqual({ sourceVolume: volume.name, containerPath: '/data', readOnly: false });
    }
  });

  it('is backed up daily by AWS Backup, kept backupRetentionDays, and copied to the replica region in prod', () => {
    for (const [simulation, days] of [[dev, 7], [prod, 90]] as const) {
      const [rule] = inputs(only(simulation, 'aws:backup/plan:Plan')).rules;
      expect(rule.schedule).toMatch(/^cron\(\d+ \d+ \* \* \? \*\)$/);
      expect(rule.lifecycle).toEqual({ deleteAfter: days });
      expect(inputs(only(simulation, 'aws:backup/selection:Selection')).resources).toEqual([expect.stringMatching(new RegExp(`:clawdbot-${simulation.stack}-data$`))]);
    }
    expect(inputs(only(dev, 'aws:backup/plan:Plan')).rules[0].copyActions).toBeUndefined();
    const replica = named(prod, 'clawdbot-prod-backups-replica');
    expect(inputs(only(prod, 'aws:backup/plan:Plan')).rules[0].copyActions).toEqual([{ destinationVaultArn: expect.stringContaining(':ap-northeast-1:'), lifecycle: { deleteAfter: 90 } }]);
    expect(replica.provider).toContain('clawdbot-prod-ap-northeast-1');
  });

  it('keeps the file system and the vaults through `pulumi destroy` in prod only', () => {
    expect(only(prod, 'aws:efs/fileSystem:FileSystem')).toMatchObject({ protect: true, retainOnDelete: true });
    expect(only(dev, 'aws:efs/fileSystem:FileSystem')).toMatchObject({ protect: false, retainOnDelete: false });
  });
});

describe('ha tier: monitoring', () => {
  /** One alarm's metric, statistic, threshold and window, or its metric-math ratio. */
  const summary = (alarm: Record<string, any>) => ({
    namespace: alarm.namespace ?? alarm.metricQueries?.[0].metric.namespace,
    metrics: alarm.metricName ? [alarm.metricName] : alarm.metricQueries.filter((query: any) => query.metric).map((query: any) => query.metric.metricName),
    stat: alarm.extendedStatistic ?? alarm.statistic ?? alarm.metricQueries?.[0].metric.stat,
    threshold: alarm.threshold,
    windowSeconds: (alarm.period ?? 60) * alarm.evaluationPeriods,
  });

  it('has the single host\'s alarm table on this tier\'s metrics, and unhealthy targets, each notifying the topic', () => {
    for (const simulation of stacks()) {
      expect(Object.fromEntries(['cpu', 'memory', 'latencyP99', 'errorRate', 'modelFailureRate', 'modelKeyExpiry', 'unhealthyTargets'].map((key) => [key, summary(alarmNamed(simulation, key))]))).toEqual({
        cpu: { namespace: 'AWS/ECS', metrics: ['CPUUtilization'], stat: 'Average', threshold: 85, windowSeconds: 600 },
        memory: { namespace: 'AWS/ECS', metrics: ['MemoryUtilization'], stat: 'Average', threshold: 90, windowSeconds: 600 },
        latencyP99: { namespace: 'AWS/ApplicationELB', metrics: ['TargetResponseTime'], stat: 'p99', threshold: 2, windowSeconds: 300 },
        errorRate: { namespace: 'AWS/ApplicationELB', metrics: ['HTTPCode_Target_5XX_Count', 'RequestCount'], stat: 'Sum', threshold: 5, windowSeconds: 300 },
        modelFailureRate: { namespace: 'Clawdbot', metrics: [METRICS.modelFailures, METRICS.modelCalls], stat: 'Sum', threshold: 10, windowSeconds: 300 },
        modelKeyExpiry: { namespace: 'Clawdbot', metrics: [METRICS.modelKeyDaysToExpiry], stat: 'Minimum', threshold: 7, windowSeconds: 300 },
        unhealthyTargets: { namespace: 'AWS/ApplicationELB', metrics: ['UnHealthyHostCount'], stat: 'Maximum', threshold: 1, windowSeconds: 180 },
      });
      const topic = simulation.outputs.alarmTopicArn;
      for (const alarm of ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm')) {
        expect(inputs(alarm)).toMatchObject({ alarmActions: [topic], okActions: [topic] });
      }
      const service = { ClusterName: `clawdbot-${simulation.stack}`, ServiceName: `clawdbot-${simulation.stack}-gateway` };
      expect(alarmNamed(simulation, 'cpu').dimensions).toEqual(service);
      expect(inputs(only(simulation, 'aws:ecs/service:Service')).name).toBe(service.ServiceName);
      expect(inputs(only(simulation, 'aws:ecs/cluster:Cluster')).name).toBe(service.ClusterName);
    }
  });

  it('sends Redis\'s events (failovers among them) to the alarm topic, whose key lets ElastiCache publish', () => {
    for (const simulation of stacks()) {
      expect(inputs(only(simulation, 'aws:elasticache/replicationGroup:ReplicationGroup')).notificationTopicArn).toBe(simulation.outputs.alarmTopicArn);
      const policy = JSON.parse(inputs(only(simulation, 'aws:kms/key:Key', `clawdbot-${simulation.stack}-alarms`)).policy);
      expect(policy.Statement).toContainEqual(expect.objectContaining({ Principal: { Service: 'elasticache.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }));
    }
  });

  it('gets the bot\'s own metrics through a CloudWatch agent beside the gateway, scraping its metrics port as the single host\'s agent does', () => {
    for (const simulation of stacks()) {
      const agent = containers(simulation).find((container) => container.name === 'cloudwatch-agent');
      expect(agent.essential).toBe(false);
      const env = Object.fromEntries(agent.environment.map((variable: { name: string; value: string }) => [variable.name, variable.value]));
      const scrape = JSON.parse(env.PROMETHEUS_CONFIG_CONTENT);
      expect(scrape.scrape_configs[0].static_configs[0]).toEqual({ targets: [`127.0.0.1:${PORTS.metrics}`], labels: { Stack: simulation.stack } });
      const config = JSON.parse(env.CW_CONFIG_CONTENT);
      expect(config.logs.metrics_collected.prometheus).toMatchObject({ prometheus_config_path: 'env:PROMETHEUS_CONFIG_CONTENT', emf_processor: { metric_namespace: 'Clawdbot' } });
    }
  });

  it('keeps container logs in log groups with a retention', () => {
    for (const simulation of stacks()) {
      const groups = ofType(simulation, 'aws:cloudwatch/logGroup:LogGroup').map(inputs);
      expect(groups.map((group) => group.retentionInDays)).toEqual(groups.map(() => 30));
      expect(gateway(simulation).logConfiguration).toMatchObject({ logDriver: 'awslogs', options: { 'awslogs-group': `/clawdbot-${simulation.stack}/containers` } });
    }
  });
});

describe('ha tier: outputs', () => {
  it('hold no secret in plain text', () => {
    for (const simulation of stacks()) {
      const secretValues = strings(only(simulation, 'aws:secretsmanager/secretVersion:SecretVersion').inputs.secretString).flatMap((json) => Object.values(JSON.parse(json)) as string[]);
      const plain = Object.entries(simulation.outputs).filter(([, value]) => !isSecretValue(value));
      expect(plain.filter(([, value]) => secretValues.some((secret) => secret.length >= 16 && JSON.stringify(value).includes(secret)))).toEqual([]);
    }
  });
});

describe('ha tier: bad config', () => {
  async function rejected(stack: string, options: SimulateOptions): Promise<SimulationError> {
    const error = await simulate(stack, options).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (!(error instanceof SimulationError)) throw new Error(`stack ${stack} accepted ${JSON.stringify(options)}`);
    // Nothing exists in AWS: at most the provider, which lives only in Pulumi's state (the zone lookup goes through it).
    expect(error.resources.map((resource) => resource.type)).toEqual(expect.arrayContaining(['pulumi:pulumi:Stack']));
    expect(error.resources.filter((resource) => !['pulumi:pulumi:Stack', 'pulumi:providers:aws'].includes(resource.type))).toEqual([]);
    return error;
  }

  it.each([
    [{ tier: 'ha' }, /^clawdbot:domain: is required for tier ha: the load balancer serves HTTPS/],
    [{ ...HA, haMinReplicas: 4, haMaxReplicas: 3 }, /^clawdbot:haMaxReplicas: 3 is below haMinReplicas \(4\)/],
    [{ ...HA, haMinReplicas: 1 }, /^clawdbot:haMinReplicas: 1 is out of range; use a whole number from 2 to 50/],
    [{ ...HA, target: 'ssh' }, /^clawdbot:tier: ha runs on AWS/],
    [{ ...HA, domain: 'example.org' }, /^clawdbot:domain: no public Route53 hosted zone named example.org/],
  ])('%j', async (config, message) => {
    expect((await rejected('dev', { config })).message).toMatch(message);
  });

  it('needs no SSH key or AMI: nothing logs in anywhere', async () => {
    const keyless = await simulate('prod', { config: HA, unset: ['sshPublicKey', 'sshPrivateKey', 'ami'] });
    expect(ofType(keyless, 'aws:ecs/service:Service')).toHaveLength(1);
  });
});
