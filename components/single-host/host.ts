import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { RestoreSource } from '../shared/backupAccess';
import { hostRoleStatements } from './hostRole';
import type { CidrsByFamily } from './network';
import { renderUserData } from './userData';

export interface HostBackupArgs {
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  /** The only prefix of the bucket the host may list, read, write and delete. */
  prefix: pulumi.Input<string>;
  /** Set when the bucket is encrypted with a customer-managed KMS key. */
  kmsKeyArn?: pulumi.Input<string>;
  retentionDays: pulumi.Input<number>;
  /** systemd OnCalendar expression of the backup timer. */
  schedule: pulumi.Input<string>;
  /** Where restores read from instead of this host's own backups. Plain: it decides which permissions exist. */
  restoreFrom?: RestoreSource;
}

export interface HostArgs {
  instanceType: pulumi.Input<string>;
  /** Picks the Ubuntu AMI: arm64 for Graviton (t4g), amd64 otherwise. */
  architecture: pulumi.Input<Architecture>;
  subnetId: pulumi.Input<string>;
  securityGroupId: pulumi.Input<string>;
  sshPublicKey: pulumi.Input<string>;
  sshPort: pulumi.Input<number>;
  sshAllowedCidrs: CidrsByFamily;
  publicCidrs: CidrsByFamily;
  rootVolumeSizeGb: pulumi.Input<number>;
  /** Tags on the root volume, e.g. the ones that put it under a snapshot policy. */
  rootVolumeTags: pulumi.Input<Record<string, pulumi.Input<string>>>;
  terminationProtection: pulumi.Input<boolean>;
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

/** Both families in one list: ufw takes either. */
function allFamilies(cidrs: CidrsByFamily): pulumi.Output<string[]> {
  return pulumi.all([cidrs.ipv4, cidrs.ipv6]).apply(([ipv4, ipv6]) => [...ipv4, ...ipv6]);
}

/** Log groups the agent writes to keep this long. */
const LOG_RETENTION_DAYS = 30;

/** Canonical's public SSM parameter for the current Ubuntu 24.04 LTS server image. */
export function ubuntuAmiParameter(architecture: Architecture): string {
  return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${architecture}/hvm/ebs-gp3/ami-id`;
}

/**
 * The EC2 host: Ubuntu 24.04 LTS, hardened and provisioned by cloud-init (see
 * components/single-host/templates/), with an Elastic IP, IMDSv2 only, an encrypted gp3 root
 * volume and a least-privilege instance role.
 */
export class Host extends pulumi.ComponentResource {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly publicDns: pulumi.Output<string>;
  public readonly sshUser: pulumi.Output<string>;
  public readonly sshPort: pulumi.Output<number>;
  public readonly architecture: pulumi.Output<Architecture>;
  public readonly roleName: pulumi.Output<string>;

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

    const keyPair = new aws.ec2.KeyPair(`${name}-ssh`, { publicKey: args.sshPublicKey }, { parent: this });

    const ami = aws.ssm.getParameterOutput({ name: this.architecture.apply(ubuntuAmiParameter) }, { parent: this }).insecureValue;

    const userData = pulumi
      .output({
        stack: args.stack,
        region: args.region,
        dnsSuffix: args.dnsSuffix,
        sshPort: args.sshPort,
        sshAllowedCidrs: allFamilies(args.sshAllowedCidrs),
        publicCidrs: allFamilies(args.publicCidrs),
        backupBucket: args.backup.bucketName,
        backupPrefix: args.backup.prefix,
        backupRetentionDays: args.backup.retentionDays,
        backupSchedule: args.backup.schedule,
        restoreFrom: args.backup.restoreFrom,
        deployUser: SSH_USER,
        appLogGroup: appLogs.name,
        prometheusLogGroup: metricLogs.name,
      })
      .apply(renderUserData);

    const instance = new aws.ec2.Instance(
      `${name}-host`,
      {
        ami,
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: [args.securityGroupId],
        associatePublicIpAddress: true,
        keyName: keyPair.keyName,
        iamInstanceProfile: profile.name,
        userData,
        // cloud-init runs on first boot only: a stop/start with new user data would move the SSH
        // port in the security group but not on the host. The host is immutable instead; its
        // Elastic IP, and so the CNAME target, stay.
        userDataReplaceOnChange: true,
        monitoring: true,
        disableApiTermination: args.terminationProtection,
        // IMDSv2 only; hop limit 2 lets containers (one hop more) reach it.
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 2 },
        rootBlockDevice: {
          volumeType: 'gp3',
          volumeSize: args.rootVolumeSizeGb,
          encrypted: true,
          deleteOnTermination: true,
          tags: args.rootVolumeTags,
        },
      },
      // A newer Ubuntu image must not replace a running host; take one with `pulumi up --replace`.
      { parent: this, ignoreChanges: ['ami'] },
    );
    this.instanceId = instance.id;

    const eip = new aws.ec2.Eip(`${name}-host`, { domain: 'vpc', instance: instance.id }, { parent: this });
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
    });
  }
}
