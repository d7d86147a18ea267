import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface AlarmTopicArgs {
  /** The AWS partition (aws, aws-cn...), for the account's ARN in the key policy. */
  partition: pulumi.Input<string>;
  /** Subscribed to the topic when set. */
  alarmEmail?: pulumi.Input<string>;
  /** Services besides CloudWatch that publish to the topic (e.g. elasticache.amazonaws.com for its failover events). */
  otherPublishers?: string[];
}

/**
 * An SNS topic that alarms notify, encrypted with a key of its own: CloudWatch cannot publish to
 * a topic under the AWS-managed alias/aws/sns key (its policy admits no other service), so the
 * key's policy lets CloudWatch of this account (and `otherPublishers`) use it. One per region that has alarms: an alarm
 * notifies only topics in its own region. `opts` carries the parent and, for another region, the
 * provider.
 */
export function alarmTopic(name: string, args: AlarmTopicArgs, opts: pulumi.CustomResourceOptions): aws.sns.Topic {
  const account = aws.getCallerIdentityOutput({}, opts).accountId;
  const key = new aws.kms.Key(
    name,
    {
      description: `${name}: encrypts the alarm topic`,
      enableKeyRotation: true,
      deletionWindowInDays: 7,
      policy: pulumi.jsonStringify({
        Version: '2012-10-17',
        Statement: [
          { Sid: 'AccountAdministers', Effect: 'Allow', Principal: { AWS: pulumi.interpolate`arn:${args.partition}:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
          ...(args.otherPublishers ?? []).map((service) => ({
            Sid: `${service.split('.')[0]}Publishes`,
            Effect: 'Allow',
            Principal: { Service: service },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          })),
        ],
      }),
    },
    opts,
  );
  const topic = new aws.sns.Topic(name, { displayName: `${name}`, kmsMasterKeyId: key.arn }, opts);
  if (args.alarmEmail !== undefined) {
    new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: 'email', endpoint: args.alarmEmail }, opts);
  }
  return topic;
}
