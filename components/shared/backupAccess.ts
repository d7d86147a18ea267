import * as pulumi from '@pulumi/pulumi';
import type * as aws from '@pulumi/aws';
import type { BackupLocation } from '../scripts/backup-settings';

/** Where a host restores from instead of its own backups (a lost stack's), field by field; the prefix without its trailing slash. */
export type RestoreSource = Partial<BackupLocation>;

export interface BackupAccessArgs {
  bucketArn: pulumi.Input<string>;
  /** The host's own prefix, with its trailing slash. */
  prefix: pulumi.Input<string>;
  kmsKeyArn?: pulumi.Input<string>;
  restoreFrom?: RestoreSource;
  /** This stack's region, where an unset restoreFrom.region points. */
  region: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  dnsSuffix: pulumi.Input<string>;
}

/**
 * What a host may do with backups, and nothing more: list, read, write and delete under its own
 * prefix (the job prunes), use the bucket's key, and read (only) the restore source.
 */
export function backupAccessStatements(args: BackupAccessArgs): aws.types.input.iam.PolicyStatement[] {
  const statements: aws.types.input.iam.PolicyStatement[] = [
    {
      Sid: 'ListOwnBackups',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: args.bucketArn,
      Condition: { StringLike: { 's3:prefix': [pulumi.interpolate`${args.prefix}*`] } },
    },
    { Sid: 'ReadWriteOwnBackups', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: pulumi.interpolate`${args.bucketArn}/${args.prefix}*` },
  ];
  if (args.kmsKeyArn) statements.push({ Sid: 'UseBackupKey', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: args.kmsKeyArn });

  const source = args.restoreFrom;
  if (source && (source.bucket !== undefined || source.prefix !== undefined)) {
    const bucketArn = source.bucket === undefined ? args.bucketArn : pulumi.interpolate`arn:${args.partition}:s3:::${source.bucket}`;
    const prefix = source.prefix === undefined ? args.prefix : `${source.prefix}/`;
    statements.push(
      { Sid: 'ListRestoreSource', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [pulumi.interpolate`${prefix}*`] } } },
      { Sid: 'ReadRestoreSource', Effect: 'Allow', Action: 's3:GetObject', Resource: pulumi.interpolate`${bucketArn}/${prefix}*` },
    );
    // Another bucket may be encrypted with its own stack's key, which cannot be named here: any
    // key, but only to decrypt what S3 hands out in the source's region.
    if (source.bucket !== undefined) {
      statements.push({
        Sid: 'DecryptRestoreSource',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': pulumi.interpolate`s3.${source.region ?? args.region}.${args.dnsSuffix}` } },
      });
    }
  }
  return statements;
}
