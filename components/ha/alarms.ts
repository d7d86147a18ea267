import type * as pulumi from '@pulumi/pulumi';
import { latencyP99Above2Seconds, modelAlarms, percentAboveFor10Minutes, percentOf, sustainedFor, type AlarmSpec } from '../shared/alarms';

// What the ha tier's Monitoring watches: the single host's alarm table on this tier's metrics
// (the service's CPU and memory, the load balancer's latency and 5xx, the bot's own model
// metrics through the agent sidecar), plus the load balancer's unhealthy targets.

export type HaAlarmKey = 'cpu' | 'memory' | 'latencyP99' | 'errorRate' | 'modelFailureRate' | 'modelKeyExpiry' | 'unhealthyTargets';

export interface HaAlarmTargets {
  clusterName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  /** The ALB's and its target group's ARN suffixes, the dimensions of AWS/ApplicationELB. */
  loadBalancer: pulumi.Input<string>;
  targetGroup: pulumi.Input<string>;
  /** The Stack dimension on the bot's metrics. */
  stack: pulumi.Input<string>;
}

const ALB = 'AWS/ApplicationELB';

export function haAlarmSpecs(targets: HaAlarmTargets): Record<HaAlarmKey, AlarmSpec> {
  const service = { ClusterName: targets.clusterName, ServiceName: targets.serviceName };
  const loadBalancer = { LoadBalancer: targets.loadBalancer };
  return {
    cpu: percentAboveFor10Minutes('Service CPU', { namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: service }, 85),
    memory: percentAboveFor10Minutes('Service memory used', { namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: service }, 90),
    latencyP99: latencyP99Above2Seconds('Response latency P99 (at the load balancer)', { namespace: ALB, metricName: 'TargetResponseTime', dimensions: loadBalancer }),
    errorRate: {
      alarmDescription: 'Gateway 5xx responses above 5% of requests for 5 minutes',
      metricQueries: percentOf('HTTPCode_Target_5XX_Count', 'RequestCount', 60, loadBalancer, ALB),
      ...sustainedFor(5),
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 5,
      treatMissingData: 'notBreaching',
    },
    ...modelAlarms(targets.stack),
    unhealthyTargets: {
      alarmDescription: 'A gateway task failed its /ready check for 3 minutes',
      namespace: ALB,
      metricName: 'UnHealthyHostCount',
      dimensions: { ...loadBalancer, TargetGroup: targets.targetGroup },
      statistic: 'Maximum',
      period: 60,
      ...sustainedFor(3),
      comparisonOperator: 'GreaterThanOrEqualToThreshold',
      threshold: 1,
      treatMissingData: 'notBreaching',
    },
  };
}
