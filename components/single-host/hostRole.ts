import * as pulumi from '@pulumi/pulumi';
import type * as aws from '@pulumi/aws';
import { backupAccessStatements, type BackupAccessArgs } from '../shared/backupAccess';
import { HOST_NAMESPACE } from '../shared/cloudwatchAgent';

/**
 * What the host's instance role may do, and nothing more: publish the agent's host metrics,
 * write to the agent's log groups, and use its own backups.
 */
export function hostRoleStatements(args: { logGroupArns: pulumi.Input<string>[]; backup: BackupAccessArgs }): aws.types.input.iam.PolicyStatement[] {
  return [
    {
      Sid: 'HostMetrics',
      Effect: 'Allow',
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': HOST_NAMESPACE } },
    },
    {
      Sid: 'AgentLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      Resource: args.logGroupArns.flatMap((arn) => [arn, pulumi.interpolate`${arn}:*`]),
    },
    ...backupAccessStatements(args.backup),
  ];
}
