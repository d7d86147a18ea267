import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { METRICS } from '../../app/src/contract';
import {
  APP_NAMESPACE,
  HOST_METRICS,
  HOST_NAMESPACE,
  LATENCY_METRIC,
  LATENCY_QUANTILE,
  ROOT_DISK_DIMENSIONS,
  STACK_DIMENSION,
} from './cloudwatchAgent';

export interface MonitoringArgs {
  instanceId: pulumi.Input<string>;
  /** Value of the Stack dimension the host's agent puts on the bot's metrics. */
  stack: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** The AWS partition (aws, aws-cn...), for the recover action and the console's host. */
  partition: pulumi.Input<string>;
  /** Subscribed to the alarm topic when set. */
  alarmEmail?: pulumi.Input<string>;
}

/** The alarms, by key; each notifies the topic when it fires and when it clears. */
type AlarmKey = 'cpu' | 'memory' | 'disk' | 'latencyP99' | 'errorRate' | 'modelFailureRate' | 'modelKeyExpiry' | 'systemRecovery';

type AlarmSpec = Omit<aws.cloudwatch.MetricAlarmArgs, 'name' | 'alarmActions' | 'okActions'> & {
  alarmDescription: string;
  treatMissingData: 'missing' | 'ignore' | 'breaching' | 'notBreaching';
};

/** A failure-rate expression over two counters published as deltas: 100 × failures ÷ total. */
function percentOf(failures: string, total: string, period: number, dimensions: Record<string, pulumi.Input<string>>): aws.types.input.cloudwatch.MetricAlarmMetricQuery[] {
  const sum = (metricName: string) => ({ namespace: APP_NAMESPACE, metricName, dimensions, period, stat: 'Sum' });
  return [
    { id: 'failures', metric: sum(failures), returnData: false },
    { id: 'total', metric: sum(total), returnData: false },
    // No traffic is not an error; a missing failure series means none failed.
    { id: 'rate', expression: 'IF(total > 0, 100 * FILL(failures, 0) / total, 0)', label: `${failures} / ${total} (%)`, returnData: true },
  ];
}

/** Every one-minute period of the window breaches: "sustained for <minutes> minutes". */
function sustainedFor(minutes: number) {
  return { evaluationPeriods: minutes, datapointsToAlarm: minutes };
}

/** A host percentage whose one-minute average stays above `threshold` for 10 minutes. */
function percentAboveFor10Minutes(
  what: string,
  metric: { namespace: string; metricName: string; dimensions: Record<string, pulumi.Input<string>> },
  threshold: number,
): AlarmSpec {
  return {
    alarmDescription: `${what} above ${threshold}% for 10 minutes`,
    ...metric,
    statistic: 'Average',
    period: 60,
    ...sustainedFor(10),
    comparisonOperator: 'GreaterThanThreshold',
    threshold,
    // No data while the host boots, stops or is being replaced is no overload: a dead host is
    // the status check's business, and `breaching` would page at every first boot.
    treatMissingData: 'missing',
  };
}

const CONSOLE_HOSTS: Record<string, string> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

/**
 * Watching the host and the bot: an SNS topic (mailed when alarmEmail is set), the alarms, EC2
 * auto-recovery on a failed system status check, and a dashboard with all of them.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:monitoring:Monitoring', name, {}, opts);

    const topic = new aws.sns.Topic(`${name}-alarms`, { displayName: `${name} alarms` }, { parent: this });
    this.topicArn = topic.arn;
    if (args.alarmEmail !== undefined) {
      new aws.sns.TopicSubscription(`${name}-alarm-email`, { topic: topic.arn, protocol: 'email', endpoint: args.alarmEmail }, { parent: this });
    }

    const instance = { InstanceId: args.instanceId };
    const app = { [STACK_DIMENSION]: args.stack };

    const specs: Record<AlarmKey, AlarmSpec> = {
      cpu: percentAboveFor10Minutes('CPU', { namespace: 'AWS/EC2', metricName: 'CPUUtilization', dimensions: instance }, 85),
      memory: percentAboveFor10Minutes('Memory used', { namespace: HOST_NAMESPACE, metricName: HOST_METRICS.memoryUsedPercent, dimensions: instance }, 90),
      disk: {
        alarmDescription: 'Root disk used above 80%',
        namespace: HOST_NAMESPACE,
        metricName: HOST_METRICS.diskUsedPercent,
        dimensions: { ...instance, ...ROOT_DISK_DIMENSIONS },
        statistic: 'Average',
        period: 300,
        evaluationPeriods: 1,
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 80,
        // The agent reports only once first boot has installed it, and not while the host is
        // stopped: silence is no full disk.
        treatMissingData: 'missing',
      },
      latencyP99: {
        alarmDescription: 'Response latency P99 above 2000 ms for 5 minutes',
        namespace: APP_NAMESPACE,
        metricName: LATENCY_METRIC,
        dimensions: { ...app, quantile: LATENCY_QUANTILE },
        extendedStatistic: 'p99',
        period: 60,
        ...sustainedFor(5),
        comparisonOperator: 'GreaterThanThreshold',
        // The summary is in seconds.
        threshold: 2000 / 1000,
        // No requests, no latency.
        treatMissingData: 'notBreaching',
      },
      errorRate: {
        alarmDescription: '5xx responses above 5% of requests for 5 minutes',
        metricQueries: percentOf(METRICS.http5xx, METRICS.httpRequests, 60, app),
        ...sustainedFor(5),
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 5,
        treatMissingData: 'notBreaching',
      },
      modelFailureRate: {
        alarmDescription: 'Model API calls failing above 10% for 5 minutes',
        metricQueries: percentOf(METRICS.modelFailures, METRICS.modelCalls, 60, app),
        ...sustainedFor(5),
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 10,
        treatMissingData: 'notBreaching',
      },
      modelKeyExpiry: {
        alarmDescription: 'Model API key expires in less than 7 days',
        namespace: APP_NAMESPACE,
        metricName: METRICS.modelKeyDaysToExpiry,
        dimensions: app,
        statistic: 'Minimum',
        period: 300,
        evaluationPeriods: 1,
        comparisonOperator: 'LessThanThreshold',
        threshold: 7,
        // The bot exports the gauge only when MODEL_KEY_EXPIRES_AT is set: no gauge, no expiry.
        treatMissingData: 'notBreaching',
      },
      systemRecovery: {
        alarmDescription: 'System status check failed: EC2 recovers the instance onto healthy hardware',
        namespace: 'AWS/EC2',
        metricName: 'StatusCheckFailed_System',
        dimensions: instance,
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 2,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        treatMissingData: 'missing',
      },
    };

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

    const alarmList = Object.values(alarms);
    const dashboardBody = pulumi
      .all([args.region, pulumi.all(alarmList.map((alarm) => alarm.arn)), pulumi.all(alarmList.map((alarm) => alarm.alarmDescription))])
      .apply(([region, arns, descriptions]) =>
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
          ],
        }),
      );
    const dashboard = new aws.cloudwatch.Dashboard(`${name}`, { dashboardName: name, dashboardBody }, { parent: this });
    this.dashboardName = dashboard.dashboardName;
    this.dashboardUrl = pulumi.interpolate`https://${args.region}.${pulumi.output(args.partition).apply((partition) => CONSOLE_HOSTS[partition] ?? CONSOLE_HOSTS.aws)}/cloudwatch/home?region=${args.region}#dashboards:name=${dashboard.dashboardName}`;

    this.registerOutputs({ topicArn: this.topicArn, dashboardName: this.dashboardName, dashboardUrl: this.dashboardUrl });
  }
}
