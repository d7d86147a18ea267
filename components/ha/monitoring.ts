import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { alarmTopic } from '../shared/alarmTopic';
import { haAlarmSpecs, type HaAlarmTargets } from './alarms';

export interface MonitoringArgs extends HaAlarmTargets {
  partition: pulumi.Input<string>;
  /** Subscribed to the alarm topic when set. */
  alarmEmail?: pulumi.Input<string>;
}

/** The service that publishes the replication group's events (a failover among them) to the topic. */
export const CACHE_EVENTS_PUBLISHER = 'elasticache.amazonaws.com';

/**
 * Watching the ha tier: the alarm topic (components/shared/alarmTopic.ts), which also receives
 * ElastiCache's events (failovers), and the alarms of components/ha/alarms.ts, each notifying it
 * when it fires and when it clears.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly topicArn: pulumi.Output<string>;
  public readonly alarmNames: pulumi.Output<string>[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:Monitoring', name, {}, opts);

    const topic = alarmTopic(`${name}-alarms`, { partition: args.partition, alarmEmail: args.alarmEmail, otherPublishers: [CACHE_EVENTS_PUBLISHER] }, { parent: this });
    this.topicArn = topic.arn;
    this.alarmNames = Object.entries(haAlarmSpecs(args)).map(([key, spec]) => {
      const alarmName = `${name}-${key}`;
      return new aws.cloudwatch.MetricAlarm(alarmName, { ...spec, name: alarmName, alarmActions: [topic.arn], okActions: [topic.arn] }, { parent: this }).name;
    });

    this.registerOutputs({ topicArn: this.topicArn, alarmNames: this.alarmNames });
  }
}
