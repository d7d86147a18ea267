import * as aws from '@pulumi/aws';
import { ConfigReader } from './reader';

/** The bot's DNS name; on aws its hosted zone is looked up with findHostedZoneId. */
export interface DnsConfig {
  domain: string;
  hostName: string;
  fqdn: string;
  ttl: number;
}

/** One label of a DNS name (lower case, as every caller compares it). */
export const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function readDns(config: ConfigReader): DnsConfig | undefined {
  const domain = config.optionalString('domain')?.toLowerCase().replace(/\.$/, '');
  if (domain === undefined) return undefined;
  if (domain.length > 253 || domain.split('.').length < 2 || !domain.split('.').every((label) => DNS_LABEL.test(label))) {
    config.fail('domain', `${JSON.stringify(domain)} is not a domain name (e.g. example.com)`);
  }
  const hostName = config.string('hostName').toLowerCase();
  if (!DNS_LABEL.test(hostName)) config.fail('hostName', `${JSON.stringify(hostName)} is not a single DNS label (e.g. bot)`);
  return { domain, hostName, fqdn: `${hostName}.${domain}`, ttl: config.integer('dnsTtl', 60, 86400) };
}

/**
 * The public hosted zone of `domain`, looked up through the stack's provider, so with the same
 * account and credentials that will write the record. A missing zone stops the program before
 * anything is created in AWS, with an error that names clawdbot:domain.
 */
export async function findHostedZoneId(domain: string, provider: aws.Provider): Promise<string> {
  try {
    return (await aws.route53.getZone({ name: domain, privateZone: false }, { provider })).zoneId;
  } catch (error) {
    const reason = error instanceof Error && error.message ? ` (${error.message.split('\n')[0]})` : '';
    return new ConfigReader().fail('domain', `no public Route53 hosted zone named ${domain} was found${reason}; create the zone or leave domain empty`);
  }
}
