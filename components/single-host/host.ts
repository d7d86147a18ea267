import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { RestoreSource } from '../shared/backupAccess';
import { hostRoleStatements } from './hostRole';
import { renderUserData } from './userData';
import { LOG_RETENTION_DAYS } from '../shared/cloudwatchAgent';

/** The bucket the host's role may use; what the backup job does with it comes with the deployment. */
export interface HostBackupArgs {
  bucketArn: pulumi.Input<string>;
  /** The only prefix of the bucket the host may list, read, write and delete. */
  prefix: pulumi.Input<string>;
  /** Set when the bucket is encrypted with a customer-managed KMS key. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Where restores read from instead of this host's own backups. Plain: it decides which permissions exist. */
  restoreFrom?: RestoreSource;
}

export interface HostArgs {
  instanceType: pulumi.Input<string>;
  /** The image, pinned: a new one replaces the host, and only when it is changed on purpose. */
  ami: pulumi.Input<string>;
  architecture: pulumi.Input<Architecture>;
  subnetId: pulumi.Input<string>;
  /** The subnet's zone, where the data volume is created. */
  availabilityZone: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  /**
   * The key pair a new instance starts with. A running host gets a changed key from the
   * deployment (the authorized-key step), so a new key replaces the key pair, never the host.
   */
  sshPublicKey: pulumi.Input<string>;
  sshPort: pulumi.Input<number>;
  rootVolumeSizeGb: pulumi.Input<number>;
  dataVolumeSizeGb: pulumi.Input<number>;
  /** Tags on the data volume, e.g. the ones that put it under a snapshot policy. */
  dataVolumeTags: pulumi.Input<Record<string, pulumi.Input<string>>>;
  terminationProtection: pulumi.Input<boolean>;
  /** prod: the instance, its Elastic IP and the data volume refuse deletion and replacement until unprotected. Plain: a resource option. */
  protect: boolean;
  region: pulumi.Input<string>;
  /** The AWS partition (aws, aws-cn...) and its DNS suffix (amazonaws.com...), for ARNs and endpoints. */
  partition: pulumi.Input<string>;
  dnsSuffix: pulumi.Input<string>;
  /** Published as the Stack dimension of the bot's metrics. */
  stack: pulumi.Input<string>;
  backup: HostBackupArgs;
}

export type Architecture = 'arm64' | 'amd64';

/** The login user of Canonical's Ubuntu images, the one sshPublicKey is installed for. */
export const SSH_USER = 'ubuntu';

/** Log groups the agent writes to keep this long. */

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS server image: where an operator looks up the `ami` to pin. */
export function ubuntuAmiParameter(architecture: Architecture): string {
  return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${architecture}/hvm/ebs-gp3/ami-id`;
}

/** Where the data volume is attached; the instance sees it as an NVMe device named by its volume id. */
export const DATA_VOLUME_DEVICE = '/dev/sdf';

/**
 * The EC2 host: Ubuntu 24.04 LTS, hardened and provisioned by cloud-init (see
 * components/single-host/templates/), with an Elastic IP, IMDSv2 only, an encrypted gp3 root
 * volume, a least-privilege instance role, and an encrypted data volume that outlives the
 * instance: a replaced host gets it back with everything the bot wrote until the old one stopped.
 */
export class Host extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly publicDns: pulumi.Output<string>;
  public readonly sshUser: pulumi.Output<string>;
  public readonly sshPort: pulumi.Output<number>;
  public readonly architecture: pulumi.Output<Architecture>;
  public readonly roleName: pulumi.Output<string>;
  public readonly dataVolumeId: pulumi.Output<string>;

  constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:host:Host', name, {}, opts);
    this.sshUser = pulumi.output(SSH_USER);
    this.architecture = pulumi.output(args.architecture);
    this.sshPort = pulumi.output(args.sshPort);

    const appLogs = new aws.cloudwatch.LogGroup(`${name}-app`, { name: `/${name}/app`, retentionInDays: LOG_RETENTION_DAYS }, { parent: this });
    const metricLogs = new aws.cloudwatch.LogGroup(
      `${name}-prometheus`,
      { name: `/${name}/prometheus`, retentionInDays: LOG_RETENTION_DAYS },
      { parent: this },
    );

    const role = new aws.iam.Role(
      `${name}-host`,
      {
        description: `${name}: the host's instance role`,
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: aws.getServicePrincipalOutput({ serviceName: 'ec2' }, { parent: this }).name }),
      },
      { parent: this },
    );
    this.roleName = role.name;

    new aws.iam.RolePolicy(
      `${name}-host`,
      {
        role: role.name,
        policy: {
          Version: '2012-10-17',
          Statement: hostRoleStatements({
            logGroupArns: [appLogs.arn, metricLogs.arn],
            backup: {
              bucketArn: args.backup.bucketArn,
              prefix: args.backup.prefix,
              kmsKeyArn: args.backup.kmsKeyArn,
              restoreFrom: args.backup.restoreFrom,
              region: args.region,
              partition: args.partition,
              dnsSuffix: args.dnsSuffix,
            },
          }),
        },
      },
      { parent: this },
    );
    // Break-glass access through SSM Session Manager, without opening a port.
    new aws.iam.RolePolicyAttachment(
      `${name}-ssm`,
      { role: role.name, policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore` },
      { parent: this },
    );
    const profile = new aws.iam.InstanceProfile(`${name}-host`, { role: role.name }, { parent: this });

    // The instance names the key pair by a fixed name: a new key replaces the key pair under that
    // name (deleted first, as names are unique) and leaves the instance's keyName as it was.
    const keyName = `${name}-ssh`;
    const keyPair = new aws.ec2.KeyPair(keyName, { keyName, publicKey: args.sshPublicKey }, { parent: this, deleteBeforeReplace: true });

    const dataVolume = new aws.ebs.Volume(
      `${name}-data`,
      { availabilityZone: args.availabilityZone, size: args.dataVolumeSizeGb, type: 'gp3', encrypted: true, tags: args.dataVolumeTags },
      { parent: this, protect: args.protect },
    );
    this.dataVolumeId = dataVolume.id;

    const userData = pulumi
      .output({
        stack: args.stack,
        region: args.region,
        dnsSuffix: args.dnsSuffix,
        sshPort: args.sshPort,
        deployUser: SSH_USER,
        dataVolumeId: dataVolume.id,
        appLogGroup: appLogs.name,
        prometheusLogGroup: metricLogs.name,
      })
      .apply(renderUserData);

    const instance = new aws.ec2.Instance(
      `${name}-host`,
      {
        ami: args.ami,
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: [args.securityGroupId],
        associatePublicIpAddress: true,
        keyName,
        iamInstanceProfile: profile.name,
        userData,
        // cloud-init runs on first boot only: a stop/start with new user data would move the SSH
        // port in the security group but not on the host. The host is immutable instead; its
        // Elastic IP, and so the CNAME target, and its data volume stay. Only the SSH port, the
        // data volume and the templates are in the user data.
        userDataReplaceOnChange: true,
        monitoring: true,
        disableApiTermination: args.terminationProtection,
        // IMDSv2 only, and only from the host itself: everything that uses the instance role (the
        // backup and restore jobs, the CloudWatch agent, the ECR login) runs on the host; no
        // container calls AWS, so none may reach the role's credentials (a hop more).
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeType: 'gp3', volumeSize: args.rootVolumeSizeGb, encrypted: true, deleteOnTermination: true },
      },
      { parent: this, protect: args.protect, dependsOn: [keyPair] },
    );
    this.instanceId = instance.id;

    // On a replacement the old attachment goes first (a volume attaches to one instance at a
    // time), after the old instance is stopped so that its file system is clean; the new host's
    // first boot waits for the volume.
    new aws.ec2.VolumeAttachment(
      `${name}-data`,
      { instanceId: instance.id, volumeId: dataVolume.id, deviceName: DATA_VOLUME_DEVICE, stopInstanceBeforeDetaching: true },
      { parent: this, deleteBeforeReplace: true },
    );

    const eip = new aws.ec2.Eip(`${name}-host`, { domain: 'vpc', instance: instance.id }, { parent: this, protect: args.protect });
    this.publicIp = eip.publicIp;
    this.publicDns = eip.publicDns;

    this.registerOutputs({
      instanceId: this.instanceId,
      publicIp: this.publicIp,
      publicDns: this.publicDns,
      sshUser: this.sshUser,
      sshPort: this.sshPort,
      architecture: this.architecture,
      roleName: this.roleName,
      dataVolumeId: this.dataVolumeId,
    });
  }
}
