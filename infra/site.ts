import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS } from '../app/src/contract';
import { Backups, type BackupsArgs } from '../components/shared/backups';
import type { DeploymentArgs, HostBackupSettings } from '../components/single-host/deployment';
import { Dns } from '../components/shared/dns';
import { Host } from '../components/single-host/host';
import { readHostKey } from '../components/single-host/hostKey';
import { HEALTH_CHECK_METRICS_REGION, Monitoring } from '../components/shared/monitoring';
import { Network } from '../components/single-host/network';
import { backupSettings } from '../components/scripts/backup-settings';
import type { SingleHostConfig } from './config';
import { findHostedZoneId } from './config/dns';
import type { AwsTarget, MachineTarget } from './config/target';
import { SSM_TUNNEL_PORT } from './ssm-tunnel';

// The two places the bot can run, each composed from its components: an EC2 host that the stack
// builds, or a machine of yours. infra/index.ts ships the bot to whichever the config names.

/** Where the deployment goes, and what the place adds to the stack's outputs. */
export interface Site {
  deployment: Pick<DeploymentArgs, 'connection' | 'hostId' | 'platform' | 'hostRoleName' | 'hostBackup' | 'authorizedKey' | 'deletedWith'>;
  /** Waited for before the first host step. */
  dependsOn: pulumi.Resource[];
  outputs: Record<string, pulumi.Input<unknown>>;
}

/** The stack's provider, and the same settings in another region. */
export interface AwsProviders {
  provider: aws.Provider;
  providerIn(region: string): aws.Provider;
}

/** An EC2 host of this stack: network, backups, host, DNS and monitoring. */
export async function onAws(
  config: SingleHostConfig,
  target: AwsTarget,
  { provider, providerIn }: AwsProviders,
  partition: pulumi.Output<aws.GetPartitionResult>,
  opts: pulumi.ComponentResourceOptions,
): Promise<Site> {
  const { name } = config;
  const backupConfig = config.backups!;
  const dnsName = config.dns && { ...config.dns, zoneId: await findHostedZoneId(config.dns.domain, provider) };

  const network = new Network(
    name,
    {
      vpc: target.network.vpc,
      instanceType: target.host.instanceType,
      sshAccess: target.network.sshAccess,
      sshPort: target.network.sshPort,
      sshAllowedCidrs: target.network.sshAllowedCidrs,
      publicCidrs: target.network.publicCidrs,
    },
    opts,
  );

  const backups = newBackups(config, 'instance', partition, opts, providerIn);

  const host = new Host(
    name,
    {
      instanceType: target.host.instanceType,
      ami: target.host.ami,
      architecture: target.host.architecture,
      subnetId: network.subnetId,
      availabilityZone: network.availabilityZone,
      securityGroupId: network.securityGroupId,
      sshPublicKey: target.host.sshPublicKey,
      sshPort: target.network.sshPort,
      rootVolumeSizeGb: target.host.rootVolumeSizeGb,
      dataVolumeSizeGb: target.host.dataVolumeSizeGb,
      dataVolumeTags: backups.snapshotTags!,
      terminationProtection: target.host.terminationProtection,
      protect: target.host.protect,
      region: config.aws!.region,
      partition: partition.partition,
      dnsSuffix: partition.dnsSuffix,
      stack: config.stack,
      backup: { bucketArn: backups.bucketArn, prefix: backups.objectPrefix, kmsKeyArn: backups.kmsKeyArn, restoreFrom: backupConfig.restoreFrom },
    },
    opts,
  );

  const dns = dnsName && new Dns(name, { zoneId: dnsName.zoneId, fqdn: dnsName.fqdn, target: host.publicDns, ttl: dnsName.ttl }, opts);

  const monitoring = new Monitoring(
    name,
    {
      instanceId: host.instanceId,
      stack: config.stack,
      region: config.aws!.region,
      partition: partition.partition,
      alarmEmail: target.monitoring.alarmEmail,
      healthCheck: { fqdn: dns?.fqdn, ipAddress: host.publicIp },
      ...(config.aws!.region !== HEALTH_CHECK_METRICS_REGION && { healthAlarmProvider: providerIn(HEALTH_CHECK_METRICS_REGION) }),
    },
    opts,
  );

  const hostKey = readHostKey(name, { instanceId: host.instanceId, region: config.aws!.region }, host);
  const region = config.aws!.region;
  const throughSsm = target.network.sshAccess === 'ssm';
  const connection = throughSsm
    ? {
        // This machine's end of the tunnel, once the Elastic IP is attached: the tunnel finds the host by it.
        host: host.publicIp.apply(() => '127.0.0.1'),
        port: SSM_TUNNEL_PORT,
        unreachableHint:
          `Start the tunnel where Pulumi runs (npx tsx infra/ssm-tunnel.ts ${config.stack}; CI's pulumi.yml does), and check that the instance is Online in ` +
          'Systems Manager > Fleet Manager and that these credentials may ec2:DescribeAddresses and ssm:StartSession.',
      }
    : {
        host: host.publicIp,
        port: host.sshPort,
        unreachableHint:
          "Check that this machine's public address is inside clawdbot:sshAllowedCidrs (GitHub's hosted runners are not: use sshAccess ssm) and that the instance is running.",
      };

  return {
    deployment: {
      connection: { ...connection, user: host.sshUser, privateKey: config.deployment.sshPrivateKey, hostKey },
      // A replaced instance (`pulumi up --replace`, changed user data) runs every host step again,
      // the restore on boot included.
      hostId: host.instanceId,
      platform: `linux/${target.host.architecture}`,
      hostRoleName: host.roleName,
      // The host's role is its credentials.
      hostBackup: hostBackupSettings(config, backups),
      authorizedKey: target.host.sshPublicKey,
      deletedWith: host,
    },
    dependsOn: [host, backups],
    outputs: {
      publicUrl: dns ? pulumi.interpolate`https://${dns.fqdn}` : pulumi.interpolate`http://${host.publicIp}:${PORTS.gateway}`,
      sshCommand: throughSsm
        ? pulumi.interpolate`ssh -o ProxyCommand='aws ssm start-session --region ${region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p' -p ${host.sshPort} ${host.sshUser}@${host.instanceId}`
        : pulumi.interpolate`ssh -p ${host.sshPort} ${host.sshUser}@${dns ? dns.fqdn : host.publicIp}`,
      instanceId: host.instanceId,
      publicIp: host.publicIp,
      backupBucketName: backups.bucketName,
      ...(backups.replicaBucketName && { backupReplicaBucketName: backups.replicaBucketName }),
      dashboardUrl: monitoring.dashboardUrl,
      alarmTopicArn: monitoring.topicArn,
    },
  };
}

/** A machine of yours: nothing to build; with targetBackups, a bucket and the machine's own backup user. */
export function onMachine(
  config: SingleHostConfig,
  target: MachineTarget,
  partition: pulumi.Output<aws.GetPartitionResult> | undefined,
  opts: pulumi.ComponentResourceOptions,
  providerIn: AwsProviders['providerIn'],
): Site {
  const backupConfig = config.backups;
  const backups = backupConfig && newBackups(config, 'machine', partition!, opts, providerIn);
  const hostBackup = backups && hostBackupSettings(config, backups);
  const address = config.dns?.fqdn ?? target.host;

  return {
    deployment: {
      connection: {
        host: target.host,
        port: target.port,
        user: target.user,
        privateKey: config.deployment.sshPrivateKey,
        hostKey: target.hostKey,
        unreachableHint: `Check that ${target.host}:${target.port} is reachable from this machine and that sshd runs there.`,
      },
      hostId: `${target.host}:${target.port}`,
      platform: `linux/${target.architecture}`,
      hostBackup,
    },
    dependsOn: backups ? [backups] : [],
    outputs: {
      publicUrl: config.dns ? `https://${config.dns.fqdn}` : `http://${target.host}:${PORTS.gateway}`,
      sshCommand: `ssh -p ${target.port} ${target.user}@${address}`,
      ...(backups && { backupBucketName: backups.bucketName }),
    },
  };
}

/**
 * What the deployment installs on the host for its backups: backup.env (with the access key of a
 * machine of yours; an EC2 host uses its role) and the timer. Applied in place, like any step.
 */
function hostBackupSettings(config: SingleHostConfig, backups: Backups): HostBackupSettings {
  const backupConfig = config.backups!;
  return {
    settings: pulumi.all([backups.bucketName, backups.objectPrefix, backups.hostCredentials]).apply(([bucket, prefix, credentials]) =>
      backupSettings({ location: { bucket, prefix, region: config.aws!.region }, retentionDays: backupConfig.retentionDays, restoreFrom: backupConfig.restoreFrom, credentials }),
    ),
    schedule: backupConfig.schedule,
  };
}

/** The stack's backups (config.backups must be set), for an EC2 host or a machine of yours. */
function newBackups(
  config: SingleHostConfig,
  host: BackupsArgs['host'],
  partition: pulumi.Output<aws.GetPartitionResult>,
  opts: pulumi.ComponentResourceOptions,
  providerIn: AwsProviders['providerIn'],
): Backups {
  const backups = config.backups!;
  const replica = backups.replicaRegion === undefined ? undefined : { region: backups.replicaRegion, provider: providerIn(backups.replicaRegion) };
  return new Backups(
    config.name,
    {
      retentionDays: backups.retentionDays,
      encryption: backups.encryption,
      protect: backups.protect,
      restoreFrom: backups.restoreFrom,
      host,
      replica,
      region: config.aws!.region,
      partition: partition.partition,
      dnsSuffix: partition.dnsSuffix,
    },
    opts,
  );
}
