import type { CidrsByFamily } from '../../components/single-host/network';
import { byFamily } from './cidr';
import type { DnsConfig } from './dns';
import { readMonitoring, type MonitoringConfig } from './monitoring';
import type { ConfigReader } from './reader';

/** Which tier runs the bot: one EC2 host (or a machine of yours), or the ha tier on ECS Fargate. */
export type Tier = 'single-host' | 'ha';

/** The ha tier: replicas on ECS Fargate in two zones behind an ALB, with managed Redis and EFS. */
export interface HaConfig {
  /** The scalable target's bounds; at least 2 so that a zone's loss leaves a replica serving. */
  minReplicas: number;
  maxReplicas: number;
  /** Who may reach the load balancer (HTTPS, and HTTP that redirects to it). */
  publicCidrs: CidrsByFamily;
  monitoring: MonitoringConfig;
}

/** The most tasks the tier scales to; far past what one Redis primary and one ALB need. */
const MAX_REPLICAS = 50;

/**
 * The ha tier's settings. It runs on AWS only and serves HTTPS only (the ALB's certificate is
 * issued for the DNS name), so it needs target aws and a domain.
 */
export function readHa(config: ConfigReader, dns: DnsConfig | undefined): HaConfig {
  if (config.string('target') !== 'aws') config.fail('tier', 'ha runs on AWS (ECS Fargate): set target to aws, or tier to single-host');
  if (dns === undefined) config.fail('domain', 'is required for tier ha: the load balancer serves HTTPS with an ACM certificate for <hostName>.<domain>, validated in its Route53 zone');
  const minReplicas = config.integer('haMinReplicas', 2, MAX_REPLICAS);
  const maxReplicas = config.integer('haMaxReplicas', 2, MAX_REPLICAS);
  if (maxReplicas < minReplicas) config.fail('haMaxReplicas', `${maxReplicas} is below haMinReplicas (${minReplicas}); the service scales between the two`);
  return { minReplicas, maxReplicas, publicCidrs: byFamily(config.cidrs('publicCidrs')), monitoring: readMonitoring(config) };
}
