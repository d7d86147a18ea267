import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS } from '../app/src/contract';
import { Backups } from '../components/backups';
import { Dns } from '../components/dns';
import { Host } from '../components/host';
import { Monitoring } from '../components/monitoring';
import { Network } from '../components/network';
import { Secrets } from '../components/secrets';
import { findHostedZoneId, loadConfig } from './config';

// The clawdbot stack: config in, components composed, outputs out.
export = async () => {
  const config = loadConfig();
  const { name } = config;

  // Every AWS resource and lookup goes through this provider: the stack's aws:* settings and
  // credentials, and the default tags on everything.
  const provider = new aws.Provider(name, config.aws.provider);
  const opts: pulumi.ComponentResourceOptions = { providers: [provider] };
  const dnsName = config.dns && { ...config.dns, zoneId: await findHostedZoneId(config.dns.domain, provider) };

  const partition = aws.getPartitionOutput({}, { provider });

  const secrets = new Secrets(name, config.bot, opts);

  const network = new Network(
    name,
    {
      vpc: config.network.vpc,
      instanceType: config.host.instanceType,
      sshPort: config.network.sshPort,
      sshAllowedCidrs: config.network.sshAllowedCidrs,
      publicCidrs: config.network.publicCidrs,
    },
    opts,
  );

  const backups = new Backups(name, { ...config.backups, partition: partition.partition }, opts);

  const host = new Host(
    name,
    {
      instanceType: config.host.instanceType,
      architecture: config.host.architecture,
      subnetId: network.subnetId,
      securityGroupId: network.securityGroupId,
      sshPublicKey: config.host.sshPublicKey,
      sshPort: config.network.sshPort,
      sshAllowedCidrs: config.network.sshAllowedCidrs,
      publicCidrs: config.network.publicCidrs,
      rootVolumeSizeGb: config.host.rootVolumeSizeGb,
      rootVolumeTags: backups.snapshotTags,
      terminationProtection: config.host.terminationProtection,
      region: config.aws.region,
      partition: partition.partition,
      dnsSuffix: partition.dnsSuffix,
      stack: config.stack,
      backup: {
        bucketName: backups.bucketName,
        bucketArn: backups.bucketArn,
        prefix: backups.objectPrefix,
        kmsKeyArn: backups.kmsKeyArn,
        retentionDays: config.backups.retentionDays,
      },
    },
    opts,
  );

  const dns = dnsName && new Dns(name, { zoneId: dnsName.zoneId, fqdn: dnsName.fqdn, target: host.publicDns, ttl: dnsName.ttl }, opts);

  const monitoring = new Monitoring(
    name,
    { instanceId: host.instanceId, stack: config.stack, region: config.aws.region, partition: partition.partition, alarmEmail: config.monitoring.alarmEmail },
    opts,
  );

  return {
    publicUrl: dns ? pulumi.interpolate`https://${dns.fqdn}` : pulumi.interpolate`http://${host.publicIp}:${PORTS.gateway}`,
    sshCommand: pulumi.interpolate`ssh -p ${host.sshPort} ${host.sshUser}@${dns ? dns.fqdn : host.publicIp}`,
    instanceId: host.instanceId,
    publicIp: host.publicIp,
    backupBucketName: backups.bucketName,
    dashboardUrl: monitoring.dashboardUrl,
    alarmTopicArn: monitoring.topicArn,
    // Secrets, shown only with `pulumi stack output --show-secrets`.
    gatewayApiKey: secrets.gatewayApiKey,
    adminToken: secrets.adminToken,
    // Generated webhook secrets to paste into the DingTalk / Feishu consoles, when those channels are on.
    ...(secrets.dingtalkToken && { dingtalkToken: secrets.dingtalkToken }),
    ...(secrets.dingtalkAesKey && { dingtalkAesKey: secrets.dingtalkAesKey }),
    ...(secrets.feishuEncryptKey && { feishuEncryptKey: secrets.feishuEncryptKey }),
  };
};
