import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { bucketSettings } from './bucketSettings';

export interface BackupReplicaArgs {
  /** The primary bucket, and the last of its settings (versioning among those before): replication goes on after them. */
  source: { bucket: aws.s3.Bucket; lastSetting: pulumi.Resource; kmsKeyArn?: pulumi.Input<string> };
  /** A provider in the replica's region, with the stack's settings. */
  provider: aws.Provider;
  /** Days a replaced or deleted replica version is kept, as in the primary. */
  retentionDays: pulumi.Input<number>;
  /** prod: the replica and its key survive `pulumi destroy`, like the primary. */
  protect: boolean;
}

/**
 * A replica of the backup bucket in another region, so that a lost region loses no backup: a
 * versioned bucket there, encrypted with a KMS key of that region (a key cannot leave its
 * region), and S3 replication of every object version from the primary, deletions included (a
 * pruned backup goes from both). Children of the Backups component, through `provider`.
 */
export function backupReplica(name: string, args: BackupReplicaArgs, parent: pulumi.Resource): { bucket: aws.s3.Bucket; kmsKeyArn: pulumi.Output<string> } {
  const inReplica: pulumi.CustomResourceOptions = { parent, provider: args.provider, retainOnDelete: args.protect };
  const keep: pulumi.CustomResourceOptions = { ...inReplica, protect: args.protect };

  const key = new aws.kms.Key(`${name}-replica`, { description: `${name} backup replica`, enableKeyRotation: true, deletionWindowInDays: 30 }, keep);
  const bucket = new aws.s3.Bucket(`${name}-replica`, { forceDestroy: !args.protect }, keep);
  const { versioning } = bucketSettings(
    `${name}-replica`,
    bucket,
    {
      encryption: { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn }, bucketKeyEnabled: true },
      lifecycleRules: [
        { id: 'expire-old-versions', status: 'Enabled', filter: { prefix: '' }, noncurrentVersionExpiration: { noncurrentDays: args.retentionDays } },
        { id: 'remove-expired-delete-markers', status: 'Enabled', filter: { prefix: '' }, expiration: { expiredObjectDeleteMarker: true } },
      ],
    },
    inReplica,
  );

  // --- replication, configured on the primary (the stack's own provider) ---------------------
  const role = new aws.iam.Role(
    `${name}-replication`,
    {
      description: `${name}: S3 replicates the backups to the replica region`,
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: aws.getServicePrincipalOutput({ serviceName: 's3' }, { parent }).name }),
    },
    { parent },
  );
  const source = args.source.bucket;
  new aws.iam.RolePolicy(
    `${name}-replication`,
    {
      role: role.name,
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ReadSourceConfiguration', Effect: 'Allow', Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'], Resource: source.arn },
          {
            Sid: 'ReadSourceVersions',
            Effect: 'Allow',
            Action: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'],
            Resource: pulumi.interpolate`${source.arn}/*`,
          },
          { Sid: 'WriteReplica', Effect: 'Allow', Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], Resource: pulumi.interpolate`${bucket.arn}/*` },
          ...(args.source.kmsKeyArn ? [{ Sid: 'DecryptSource', Effect: 'Allow' as const, Action: 'kms:Decrypt', Resource: args.source.kmsKeyArn }] : []),
          { Sid: 'EncryptReplica', Effect: 'Allow' as const, Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: key.arn },
        ],
      },
    },
    { parent },
  );
  new aws.s3.BucketReplicationConfig(
    `${name}-backups`,
    {
      bucket: source.id,
      role: role.arn,
      rules: [
        {
          id: 'all-backups-to-replica',
          status: 'Enabled',
          filter: { prefix: '' },
          deleteMarkerReplication: { status: 'Enabled' },
          sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
          destination: { bucket: bucket.arn, encryptionConfiguration: { replicaKmsKeyId: key.arn } },
        },
      ],
    },
    // S3 refuses replication between buckets not both versioned.
    { parent, dependsOn: [args.source.lastSetting, versioning] },
  );
  return { bucket, kmsKeyArn: key.arn };
}
