import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { alarmSpecs, type AlarmKey, type AlarmSpec } from './alarms';

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
