import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS, ROUTES } from '../../app/src/contract';
import { alarmSpecs, type AlarmKey, type AlarmSpec } from './alarms';
import { alarmTopic } from './alarmTopic';

export interface MonitoringArgs {
  instanceId: pulumi.Input<string>;
  /** Value of the Stack dimension the host's agent puts on the bot's metrics. */
  stack: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** The AWS partition (aws, aws-cn...), for the recover action and the console's host. */
  partition: pulumi.Input<string>;
  /** Subscribed to the alarm topics when set. */
  alarmEmail?: pulumi.Input<string>;
  /** What the external check of /health calls. */
  healthCheck: HealthCheckTarget;
  /**
   * A provider for us-east-1, the only region where Route53 publishes health-check metrics, so
   * the only one where an alarm on them can live. Unset when the stack is in us-east-1.
   */
  healthAlarmProvider?: aws.Provider;
}

export interface HealthCheckTarget {
  /** The bot's DNS name, served over HTTPS by Caddy; unset: the gateway's port on `ipAddress`, over HTTP. */
  fqdn?: pulumi.Input<string>;
  ipAddress: pulumi.Input<string>;
}

/** The region whose CloudWatch holds Route53's health-check metrics. */
export const HEALTH_CHECK_METRICS_REGION = 'us-east-1';
/** Exactly the healthy answer of GET /health: a bot that answers anything else is not healthy. */
export const HEALTHY_BODY = '{"status":"healthy"}';

const CONSOLE_HOSTS: Record<string, string> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

/**
 * Watching the host and the bot: an encrypted SNS topic (mailed when alarmEmail is set), the
 * alarms, EC2 auto-recovery on a failed system status check, a Route53 health check of /health
 * from outside AWS's network with an alarm of its own, and a dashboard with all of them.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly healthCheckId: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:monitoring:Monitoring', name, {}, opts);

    const topic = alarmTopic(`${name}-alarms`, { partition: args.partition, alarmEmail: args.alarmEmail }, { parent: this });
    this.topicArn = topic.arn;

    const specs = alarmSpecs(args);

    const recover = pulumi.interpolate`arn:${args.partition}:automate:${args.region}:ec2:recover`;
    const alarms = Object.fromEntries(
      (Object.entries(specs) as [AlarmKey, AlarmSpec][]).map(([key, spec]) => {
        const alarmName = `${name}-${key}`;
        const alarm = new aws.cloudwatch.MetricAlarm(
          alarmName,
          {
            ...spec,
            name: alarmName,
            alarmActions: key === 'systemRecovery' ? [recover, topic.arn] : [topic.arn],
            okActions: [topic.arn],
          },
          { parent: this },
        );
        return [key, alarm];
      }),
    ) as Record<AlarmKey, aws.cloudwatch.MetricAlarm>;

    // --- the external check: Route53's checkers call /health from several regions -------------
    const inHealthRegion: pulumi.CustomResourceOptions = { parent: this, ...(args.healthAlarmProvider && { provider: args.healthAlarmProvider }) };
    const healthCheck = new aws.route53.HealthCheck(
      `${name}-health`,
      {
        ...(args.healthCheck.fqdn !== undefined
          ? { type: 'HTTPS_STR_MATCH', fqdn: args.healthCheck.fqdn, port: PORTS.https, enableSni: true }
          : { type: 'HTTP_STR_MATCH', ipAddress: args.healthCheck.ipAddress, port: PORTS.gateway }),
        resourcePath: ROUTES.health,
        searchString: HEALTHY_BODY,
        requestInterval: 30,
        failureThreshold: 3,
        tags: { Name: `${name} /health` },
      },
      inHealthRegion,
    );
    this.healthCheckId = healthCheck.id;
    const healthTopic = args.healthAlarmProvider
      ? alarmTopic(`${name}-health-alarms`, { partition: args.partition, alarmEmail: args.alarmEmail }, inHealthRegion)
      : topic;
    const healthAlarmName = `${name}-health`;
    const healthAlarm = new aws.cloudwatch.MetricAlarm(
      healthAlarmName,
      {
        name: healthAlarmName,
        alarmDescription: 'GET /health failed from outside for 3 minutes',
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensions: { HealthCheckId: healthCheck.id },
        statistic: 'Minimum',
        period: 60,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        // No status at all means the check itself is gone: as bad as a failing one.
        treatMissingData: 'breaching',
        alarmActions: [healthTopic.arn],
        okActions: [healthTopic.arn],
      },
      inHealthRegion,
    );

    const alarmList = Object.values(alarms);
    const dashboardBody = pulumi
      .all([
        args.region,
        pulumi.all(alarmList.map((alarm) => alarm.arn)),
        pulumi.all(alarmList.map((alarm) => alarm.alarmDescription)),
        healthAlarm.arn,
        healthAlarm.alarmDescription,
      ])
      .apply(([region, arns, descriptions, healthArn, healthDescription]) =>
        JSON.stringify({
          widgets: [
            {
              type: 'alarm',
              x: 0,
              y: 0,
              width: 24,
              height: 4,
              properties: { title: `${name} alarms`, alarms: arns },
            },
            // One graph per alarm; CloudWatch draws each alarm's own metric or expression and threshold.
            ...arns.map((arn, index) => ({
              type: 'metric',
              x: (index % 3) * 8,
              y: 4 + Math.floor(index / 3) * 6,
              width: 8,
              height: 6,
              properties: { title: descriptions[index], region, annotations: { alarms: [arn] }, view: 'timeSeries', stacked: false },
            })),
            {
              type: 'metric',
              x: (arns.length % 3) * 8,
              y: 4 + Math.floor(arns.length / 3) * 6,
              width: 8,
              height: 6,
              properties: { title: healthDescription, region: HEALTH_CHECK_METRICS_REGION, annotations: { alarms: [healthArn] }, view: 'timeSeries', stacked: false },
            },
          ],
        }),
      );
    const dashboard = new aws.cloudwatch.Dashboard(`${name}`, { dashboardName: name, dashboardBody }, { parent: this });
    this.dashboardName = dashboard.dashboardName;
    this.dashboardUrl = pulumi.interpolate`https://${args.region}.${pulumi.output(args.partition).apply((partition) => CONSOLE_HOSTS[partition] ?? CONSOLE_HOSTS.aws)}/cloudwatch/home?region=${args.region}#dashboards:name=${dashboard.dashboardName}`;

    this.registerOutputs({ topicArn: this.topicArn, healthCheckId: this.healthCheckId, dashboardName: this.dashboardName, dashboardUrl: this.dashboardUrl });
  }
}
