import * as pulumi from '@pulumi/pulumi';
import type * as aws from '@pulumi/aws';
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

// What Monitoring watches and when it pages: every alarm's metric, threshold and window.

/** The alarms, by key; each notifies the topic when it fires and when it clears. */
export type AlarmKey = 'cpu' | 'memory' | 'disk' | 'latencyP99' | 'errorRate' | 'modelFailureRate' | 'modelKeyExpiry' | 'heartbeat' | 'systemRecovery';

export type AlarmSpec = Omit<aws.cloudwatch.MetricAlarmArgs, 'name' | 'alarmActions' | 'okActions'> & {
  alarmDescription: string;
  treatMissingData: 'missing' | 'ignore' | 'breaching' | 'notBreaching';
};

/** A failure-rate expression over two counters (of `namespace`) summed per period: 100 × failures ÷ total. */
export function percentOf(
  failures: string,
  total: string,
  period: number,
  dimensions: Record<string, pulumi.Input<string>>,
  namespace: string = APP_NAMESPACE,
): aws.types.input.cloudwatch.MetricAlarmMetricQuery[] {
  const sum = (metricName: string) => ({ namespace, metricName, dimensions, period, stat: 'Sum' });
  return [
    { id: 'failures', metric: sum(failures), returnData: false },
    { id: 'total', metric: sum(total), returnData: false },
    // No traffic is not an error; a missing failure series means none failed.
    { id: 'rate', expression: 'IF(total > 0, 100 * FILL(failures, 0) / total, 0)', label: `${failures} / ${total} (%)`, returnData: true },
  ];
}

/** Every one-minute period of the window breaches: "sustained for <minutes> minutes". */
export function sustainedFor(minutes: number) {
  return { evaluationPeriods: minutes, datapointsToAlarm: minutes };
}

/** A host percentage whose one-minute average stays above `threshold` for 10 minutes. */
export function percentAboveFor10Minutes(
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

/** A latency in seconds whose P99 stays above 2 s for 5 minutes. */
export function latencyP99Above2Seconds(what: string, metric: { namespace: string; metricName: string; dimensions: Record<string, pulumi.Input<string>> }): AlarmSpec {
  return {
    alarmDescription: `${what} above 2000 ms for 5 minutes`,
    ...metric,
    extendedStatistic: 'p99',
    period: 60,
    ...sustainedFor(5),
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 2000 / 1000,
    // No requests, no latency.
    treatMissingData: 'notBreaching',
  };
}

/** The alarms on the bot's own model metrics of `stack`, on any tier. */
export function modelAlarms(stack: pulumi.Input<string>): Record<'modelFailureRate' | 'modelKeyExpiry', AlarmSpec> {
  const app = { [STACK_DIMENSION]: stack };
  return {
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
  };
}

/** The alarms on the host (`instanceId`) and on the bot's metrics of `stack`. */
export function alarmSpecs(args: { instanceId: pulumi.Input<string>; stack: pulumi.Input<string> }): Record<AlarmKey, AlarmSpec> {
  const instance = { InstanceId: args.instanceId };
  const app = { [STACK_DIMENSION]: args.stack };

  return {
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
    latencyP99: latencyP99Above2Seconds('Response latency P99', { namespace: APP_NAMESPACE, metricName: LATENCY_METRIC, dimensions: { ...app, quantile: LATENCY_QUANTILE } }),
    errorRate: {
      alarmDescription: '5xx responses above 5% of requests for 5 minutes',
      metricQueries: percentOf(METRICS.http5xx, METRICS.httpRequests, 60, app),
      ...sustainedFor(5),
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 5,
      treatMissingData: 'notBreaching',
    },
    ...modelAlarms(args.stack),
    heartbeat: {
      alarmDescription: 'The bot published no metrics for 5 minutes: it, its host or the agent is gone',
      namespace: APP_NAMESPACE,
      // A gauge without labels: every scrape of a live bot publishes it, traffic or not.
      metricName: METRICS.activeSessions,
      dimensions: app,
      statistic: 'SampleCount',
      period: 60,
      ...sustainedFor(5),
      comparisonOperator: 'LessThanThreshold',
      threshold: 1,
      // Silence is the failure this alarm exists for (it also fires until a new host's first deploy).
      treatMissingData: 'breaching',
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
}
