import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface BucketSettingsArgs {
  /** The default encryption rule: SSE-S3, or SSE-KMS with a key of the bucket's region. */
  encryption: aws.types.input.s3.BucketServerSideEncryptionConfigurationRule;
  lifecycleRules: aws.types.input.s3.BucketLifecycleConfigurationRule[];
}

/**
 * A backup bucket's settings: owner-enforced, all four public-access blocks, versioning, default
 * encryption, a policy that denies any request without TLS, and its lifecycle rules. They go on
 * one at a time, in this order: S3 answers OperationAborted ("a conflicting conditional operation
 * is currently in progress") when a new bucket gets several at once, and it refuses lifecycle
 * rules on noncurrent versions until versioning is on. `opts` carries the parent (and provider).
 */
export function bucketSettings(
  name: string,
  bucket: aws.s3.Bucket,
  args: BucketSettingsArgs,
  opts: pulumi.CustomResourceOptions,
): { versioning: aws.s3.BucketVersioning; lastSetting: pulumi.Resource } {
  const after = (previous: pulumi.Resource): pulumi.CustomResourceOptions => ({ ...opts, dependsOn: [previous] });
  const ownership = new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, opts);
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
    name,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    after(ownership),
  );
  const versioning = new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, after(publicAccessBlock));
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(name, { bucket: bucket.id, rules: [args.encryption] }, after(versioning));
  const policy = new aws.s3.BucketPolicy(
    name,
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
  const lifecycle = new aws.s3.BucketLifecycleConfiguration(name, { bucket: bucket.id, rules: args.lifecycleRules }, after(policy));
  return { versioning, lastSetting: lifecycle };
}
