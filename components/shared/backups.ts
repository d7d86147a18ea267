import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { backupAccessStatements, type RestoreSource } from './backupAccess';

export interface BackupsArgs {
  /** Days a replaced or deleted backup object is kept. */
  retentionDays: pulumi.Input<number>;
  /** `sse-s3` (S3-managed keys) or `kms` (a customer-managed key with rotation). Plain: it decides whether the key exists. */
  encryption: 'sse-s3' | 'kms';
  /** prod: the bucket and its key are protected and survive `pulumi destroy`. Plain: resource options take no Inputs. */
  protect: boolean;
  /** The AWS partition (aws, aws-cn...) and its DNS suffix, for ARNs and service names. */
  partition: pulumi.Input<string>;
  dnsSuffix: pulumi.Input<string>;
  /** The stack's region, where the restore source is unless it says otherwise. */
  region: pulumi.Input<string>;
  /**
   * `instance`: an EC2 host of this stack, whose root volume gets daily snapshots (its role gets
   * the bucket access). `machine`: a machine of yours, which gets an IAM user of its own whose
   * access key is `hostCredentials`. Plain: it decides which resources exist.
   */
  host: 'instance' | 'machine';
  /** Where the host restores from instead of its own backups. Plain: it decides which permissions exist. */
  restoreFrom?: RestoreSource;
}

/** Days after which backups move to a cheaper storage class. */
export const TIER_DOWN_AFTER_DAYS = 30;
/** Daily EBS snapshots kept by Data Lifecycle Manager. */
export const SNAPSHOTS_KEPT = 7;

/**
 * Where backups go: a versioned, encrypted, private S3 bucket that refuses plain HTTP, and daily
 * EBS snapshots of the host's root volume as a second line.
 */
export class Backups extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  /** The host's own prefix in the bucket; its role may touch nothing else. */
  public readonly objectPrefix: pulumi.Output<string>;
  /** Set when encryption is `kms`: the host's role needs to use this key. */
  public readonly kmsKeyArn?: pulumi.Output<string>;
  /** Tags that put a volume under the daily snapshot policy (an EC2 host). */
  public readonly snapshotTags?: pulumi.Output<Record<string, string>>;
  /** The access key of a machine of yours (host `machine`), a secret. */
  public readonly hostCredentials?: pulumi.Output<{ accessKeyId: string; secretAccessKey: string }>;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:backups:Backups', name, {}, opts);

    // In prod the data outlives the stack; dev buckets empty themselves on destroy.
    const keep: pulumi.CustomResourceOptions = { parent: this, protect: args.protect, retainOnDelete: args.protect };
    const child: pulumi.CustomResourceOptions = { parent: this, retainOnDelete: args.protect };

    const bucket = new aws.s3.Bucket(`${name}-backups`, { forceDestroy: !args.protect }, keep);
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.objectPrefix = pulumi.output(`${name}/`);

    // The bucket's settings go on one at a time, in this order: S3 answers OperationAborted ("a
    // conflicting conditional operation is currently in progress") when a new bucket gets several
    // at once, and it refuses lifecycle rules on noncurrent versions until versioning is on.
    const after = (previous: pulumi.Resource): pulumi.CustomResourceOptions => ({ ...child, dependsOn: [previous] });

    const ownership = new aws.s3.BucketOwnershipControls(`${name}-backups`, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, child);
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-backups`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      after(ownership),
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-backups`,
      { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } },
      after(publicAccessBlock),
    );

    if (args.encryption === 'kms') {
      const key = new aws.kms.Key(
        `${name}-backups`,
        { description: `${name} backups`, enableKeyRotation: true, deletionWindowInDays: 30 },
        keep,
      );
      new aws.kms.Alias(`${name}-backups`, { name: `alias/${name}-backups`, targetKeyId: key.keyId }, child);
      this.kmsKeyArn = key.arn;
    }
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-backups`,
      {
        bucket: bucket.id,
        rules: [
          this.kmsKeyArn
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: this.kmsKeyArn }, bucketKeyEnabled: true }
            : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
        ],
      },
      after(versioning),
    );

    const policy = new aws.s3.BucketPolicy(
      `${name}-backups`,
      {
        bucket: bucket.id,
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
      after(encryption),
    );

    new aws.s3.BucketLifecycleConfiguration(
      `${name}-backups`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: 'tier-down-and-expire-old-versions',
            status: 'Enabled',
            filter: { prefix: '' },
            transitions: [{ days: TIER_DOWN_AFTER_DAYS, storageClass: 'STANDARD_IA' }],
            noncurrentVersionExpiration: { noncurrentDays: args.retentionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
          {
            // Pruned backups leave delete markers behind; drop them once nothing is under them.
            id: 'remove-expired-delete-markers',
            status: 'Enabled',
            filter: { prefix: '' },
            expiration: { expiredObjectDeleteMarker: true },
          },
        ],
      },
      after(policy),
    );

    if (args.host === 'instance') {
      this.snapshotTags = pulumi.output<Record<string, string>>({ SnapshotPolicy: name });
      const dlmRole = new aws.iam.Role(
        `${name}-snapshots`,
        {
          description: `${name}: Data Lifecycle Manager takes the host's EBS snapshots`,
          assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: aws.getServicePrincipalOutput({ serviceName: 'dlm' }, { parent: this }).name }),
        },
        { parent: this },
      );
      new aws.iam.RolePolicyAttachment(
        `${name}-snapshots`,
        { role: dlmRole.name, policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole` },
        { parent: this },
      );
      new aws.dlm.LifecyclePolicy(
        `${name}-snapshots`,
        {
          // DLM takes only letters, digits, spaces, - and _ in the description and schedule name.
          description: `${name} host root volume daily snapshots keep ${SNAPSHOTS_KEPT}`,
          executionRoleArn: dlmRole.arn,
          state: 'ENABLED',
          policyDetails: {
            resourceTypes: ['VOLUME'],
            targetTags: this.snapshotTags,
            schedules: [
              {
                name: `daily keep ${SNAPSHOTS_KEPT}`,
                createRule: { interval: 24, intervalUnit: 'HOURS', times: '03:00' },
                retainRule: { count: SNAPSHOTS_KEPT },
                copyTags: true,
              },
            ],
          },
        },
        { parent: this },
      );
    } else {
      // A machine of yours has no instance role: an IAM user of its own, with the same rights.
      const user = new aws.iam.User(`${name}-host`, { path: '/clawdbot/' }, { parent: this });
      new aws.iam.UserPolicy(
        `${name}-host`,
        {
          user: user.name,
          policy: {
            Version: '2012-10-17',
            Statement: backupAccessStatements({
              bucketArn: this.bucketArn,
              prefix: this.objectPrefix,
              kmsKeyArn: this.kmsKeyArn,
              restoreFrom: args.restoreFrom,
              region: args.region,
              partition: args.partition,
              dnsSuffix: args.dnsSuffix,
            }),
          },
        },
        { parent: this },
      );
      const key = new aws.iam.AccessKey(`${name}-host`, { user: user.name }, { parent: this, additionalSecretOutputs: ['secret'] });
      this.hostCredentials = pulumi.secret(pulumi.all([key.id, key.secret]).apply(([accessKeyId, secretAccessKey]) => ({ accessKeyId, secretAccessKey })));
    }

    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      objectPrefix: this.objectPrefix,
      kmsKeyArn: this.kmsKeyArn,
      snapshotTags: this.snapshotTags,
      hostCredentials: this.hostCredentials,
    });
  }
}
