import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { CONTAINER_UID, SHARED_DATA_DIR_VARIABLE } from '../app/src/contract';
import { Cache } from '../components/ha/cache';
import { LoadBalancer } from '../components/ha/loadBalancer';
import { Monitoring } from '../components/ha/monitoring';
import { Network } from '../components/ha/network';
import { Service, serviceNames } from '../components/ha/service';
import { Storage } from '../components/ha/storage';
import type { Secrets } from '../components/shared/secrets';
import type { HaStackConfig } from './config';
import type { AwsProviders } from './site';

/** The variable that points the gateway at its store (app/src/lib/config.ts). */
const REDIS_URL = 'REDIS_URL';

/**
 * The ha tier: replicas of the gateway on ECS Fargate in two zones behind a load balancer, sharing
 * a Multi-AZ Valkey and an EFS data dir. Returns the stack's outputs.
 */
export function onHa(
  config: HaStackConfig,
  /** The hosted zone of config.dns.domain, looked up before anything was declared. */
  zoneId: string,
  providerIn: AwsProviders['providerIn'],
  partition: pulumi.Output<aws.GetPartitionResult>,
  secrets: Secrets,
  opts: pulumi.ComponentResourceOptions,
): Record<string, pulumi.Input<unknown>> {
  const { name, ha, backups } = config;

  const network = new Network(name, { publicCidrs: ha.publicCidrs }, opts);
  const loadBalancer = new LoadBalancer(
    name,
    { vpcId: network.vpcId, subnetIds: network.subnetIds, securityGroupId: network.loadBalancerSecurityGroupId, zoneId, fqdn: config.dns.fqdn },
    opts,
  );
  const monitoring = new Monitoring(
    name,
    {
      ...serviceNames(name),
      loadBalancer: loadBalancer.arnSuffix,
      targetGroup: loadBalancer.targetGroupArnSuffix,
      stack: config.stack,
      partition: partition.partition,
      alarmEmail: ha.monitoring.alarmEmail,
    },
    opts,
  );
  const cache = new Cache(
    name,
    { subnetIds: network.subnetIds, securityGroupId: network.cacheSecurityGroupId, snapshotRetentionDays: backups.retentionDays, notificationTopicArn: monitoring.topicArn },
    opts,
  );
  const storage = new Storage(
    name,
    {
      subnetIds: network.subnetIds,
      securityGroupId: network.fileSystemSecurityGroupId,
      uid: CONTAINER_UID,
      retentionDays: backups.retentionDays,
      protect: backups.protect,
      replica: backups.replicaRegion === undefined ? undefined : { provider: providerIn(backups.replicaRegion) },
      partition: partition.partition,
    },
    opts,
  );
  const service = new Service(
    name,
    {
      build: { context: '.', dockerfile: 'app/Dockerfile', baseImage: config.baseImage },
      // The replicas share the EFS data dir: each writes conversation files of its own.
      environment: pulumi.secret(
        pulumi.all([secrets.botEnvironment, cache.url]).apply(([environment, url]) => ({ ...environment, [REDIS_URL]: url, [SHARED_DATA_DIR_VARIABLE]: 'true' })),
      ),
      environmentNames: secrets.botEnvironmentNames.apply((names) => [...names, REDIS_URL, SHARED_DATA_DIR_VARIABLE]),
      stack: config.stack,
      subnetIds: network.subnetIds,
      securityGroupId: network.taskSecurityGroupId,
      targetGroupArn: loadBalancer.targetGroupArn,
      requestCountLabel: pulumi.interpolate`${loadBalancer.arnSuffix}/${loadBalancer.targetGroupArnSuffix}`,
      fileSystem: { id: storage.fileSystemId, arn: storage.fileSystemArn, accessPointId: storage.accessPointId, accessPointArn: storage.accessPointArn },
      minReplicas: ha.minReplicas,
      maxReplicas: ha.maxReplicas,
      region: config.aws.region,
    },
    // Tasks register only once the listener forwards, and mount only once the mount targets exist.
    { ...opts, dependsOn: [loadBalancer.httpsListener, ...storage.mountTargets] },
  );

  return {
    publicUrl: pulumi.interpolate`https://${loadBalancer.fqdn}`,
    clusterName: service.clusterName,
    serviceName: service.serviceName,
    imageDigest: service.imageDigest,
    logGroupName: service.logGroupName,
    backupVaultName: storage.vaultName,
    alarmTopicArn: monitoring.topicArn,
  };
}
