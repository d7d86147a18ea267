import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface StorageArgs {
  /** One mount target per zone's subnet. */
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /** The user the gateway runs as in its image (Dockerfile USER): the access point's owner. */
  uid: number;
  /** Days each daily recovery point is kept. */
  retentionDays: pulumi.Input<number>;
  /** prod: the file system survives `pulumi destroy`. Plain: resource options take no Inputs. */
  protect: boolean;
  /** A second region whose vault gets a copy of every recovery point. Plain: it decides which resources exist. */
  replica?: { provider: aws.Provider };
  partition: pulumi.Input<string>;
}

/** When AWS Backup takes the daily recovery point (UTC), as the single host's timer runs daily. */
export const BACKUP_SCHEDULE = 'cron(0 3 * * ? *)';

/**
 * The gateway's data dir on this tier (conversation logs, the FAQ): an encrypted EFS file system
 * with a mount target in each zone, entered through an access point that pins the owner and the
 * root, and backed up daily by AWS Backup (copied to the replica region's vault when there is one).
 */
export class Storage extends pulumi.ComponentResource {
  public readonly fileSystemId: pulumi.Output<string>;
  public readonly fileSystemArn: pulumi.Output<string>;
  public readonly accessPointId: pulumi.Output<string>;
  public readonly accessPointArn: pulumi.Output<string>;
  public readonly vaultName: pulumi.Output<string>;
  /** The mount targets: a task can mount only once they exist. */
  public readonly mountTargets: pulumi.Resource[];

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:Storage', name, {}, opts);
    const child = { parent: this };
    const keep = { ...child, protect: args.protect, retainOnDelete: args.protect };

    const fileSystem = new aws.efs.FileSystem(`${name}-data`, { encrypted: true, tags: { Name: `${name}-data` } }, keep);
    this.fileSystemId = fileSystem.id;
    this.fileSystemArn = fileSystem.arn;
    this.mountTargets = args.subnetIds.map(
      (subnetId, index) => new aws.efs.MountTarget(`${name}-data-${index}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [args.securityGroupId] }, child),
    );
    const owner = { uid: args.uid, gid: args.uid };
    const accessPoint = new aws.efs.AccessPoint(
      `${name}-data`,
      { fileSystemId: fileSystem.id, posixUser: owner, rootDirectory: { path: '/clawdbot', creationInfo: { ownerUid: owner.uid, ownerGid: owner.gid, permissions: '0750' } } },
      child,
    );
    this.accessPointId = accessPoint.id;
    this.accessPointArn = accessPoint.arn;

    const vault = new aws.backup.Vault(`${name}-backups`, { name: `${name}-backups`, forceDestroy: !args.protect }, keep);
    this.vaultName = vault.name;
    const replicaVault =
      args.replica && new aws.backup.Vault(`${name}-backups-replica`, { name: `${name}-backups-replica`, forceDestroy: !args.protect }, { ...keep, provider: args.replica.provider });
    const lifecycle = { deleteAfter: args.retentionDays };
    const plan = new aws.backup.Plan(
      `${name}-backups`,
      {
        name: `${name}-backups`,
        rules: [
          {
            ruleName: 'daily',
            targetVaultName: vault.name,
            schedule: BACKUP_SCHEDULE,
            lifecycle,
            ...(replicaVault && { copyActions: [{ destinationVaultArn: replicaVault.arn, lifecycle }] }),
          },
        ],
      },
      child,
    );
    const role = new aws.iam.Role(
      `${name}-backups`,
      {
        description: `${name}: AWS Backup backs up and restores the data file system`,
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: aws.getServicePrincipalOutput({ serviceName: 'backup' }, child).name }),
      },
      child,
    );
    for (const policy of ['AWSBackupServiceRolePolicyForBackup', 'AWSBackupServiceRolePolicyForRestores']) {
      new aws.iam.RolePolicyAttachment(`${name}-backups-${policy.endsWith('Restores') ? 'restore' : 'backup'}`, { role: role.name, policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/service-role/${policy}` }, child);
    }
    new aws.backup.Selection(`${name}-backups`, { name: `${name}-data`, planId: plan.id, iamRoleArn: role.arn, resources: [fileSystem.arn] }, child);

    this.registerOutputs({
      fileSystemId: this.fileSystemId,
      fileSystemArn: this.fileSystemArn,
      accessPointId: this.accessPointId,
      accessPointArn: this.accessPointArn,
      vaultName: this.vaultName,
    });
  }
}
