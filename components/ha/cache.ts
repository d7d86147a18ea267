import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as random from '@pulumi/random';
import { REDIS_PORT } from './network';

export interface CacheArgs {
  /** One subnet per zone: the primary and its replica go to different ones. */
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /** Days of daily snapshots kept (ElastiCache keeps at most 35). */
  snapshotRetentionDays: number;
  /** Where ElastiCache sends its events (a failover among them). */
  notificationTopicArn: pulumi.Input<string>;
}

/** The smallest node with Multi-AZ failover; the store holds sessions, caches and dedup keys, not bulk data. */
export const CACHE_NODE_TYPE = 'cache.t4g.micro';
/** ElastiCache's ceiling on snapshot retention. */
const MAX_SNAPSHOT_DAYS = 35;

/**
 * The shared store of every replica: a Valkey replication group of a primary and one replica
 * in another zone, failing over by itself (Multi-AZ), encrypted at rest and in transit, behind an
 * auth token that the stack generates. `url` (rediss://, token included) is a secret.
 */
export class Cache extends pulumi.ComponentResource {
  public readonly replicationGroupId: pulumi.Output<string>;
  /** REDIS_URL of the tasks, a secret. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:Cache', name, {}, opts);
    const child = { parent: this };

    // ElastiCache takes printable ASCII but @, " and /; letters and digits also need no escaping in a URL.
    const authToken = pulumi.secret(new random.RandomPassword(`${name}-cache-auth`, { length: 64, special: false }, child).result);
    const subnets = new aws.elasticache.SubnetGroup(`${name}-cache`, { description: `${name}: one subnet per zone`, subnetIds: args.subnetIds }, child);
    const group = new aws.elasticache.ReplicationGroup(
      `${name}-cache`,
      {
        description: `${name}: the gateway's shared store`,
        engine: 'valkey',
        engineVersion: '8.0',
        nodeType: CACHE_NODE_TYPE,
        port: REDIS_PORT,
        numCacheClusters: 2,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        authToken,
        subnetGroupName: subnets.name,
        securityGroupIds: [args.securityGroupId],
        snapshotRetentionLimit: Math.min(args.snapshotRetentionDays, MAX_SNAPSHOT_DAYS),
        notificationTopicArn: args.notificationTopicArn,
        applyImmediately: true,
      },
      { ...child, additionalSecretOutputs: ['authToken'] },
    );
    this.replicationGroupId = group.id;
    this.url = pulumi.secret(pulumi.interpolate`rediss://:${authToken}@${group.primaryEndpointAddress}:${REDIS_PORT}`);

    this.registerOutputs({ replicationGroupId: this.replicationGroupId, url: this.url });
  }
}
