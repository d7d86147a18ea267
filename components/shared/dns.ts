import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface DnsArgs {
  /** The hosted zone, looked up by name when the config was read. */
  zoneId: pulumi.Input<string>;
  /** Fully qualified record name, <hostName>.<domain>. */
  fqdn: pulumi.Input<string>;
  /** The host's public DNS name (its Elastic IP's), for a CNAME; or a load balancer, for an alias. */
  target: pulumi.Input<string> | AliasTarget;
  /** Of a CNAME; an alias answers with the load balancer's own. */
  ttl?: pulumi.Input<number>;
}

/** A load balancer's name and hosted zone: the record answers with its addresses (an A alias, no TTL of its own). */
export interface AliasTarget {
  dnsName: pulumi.Input<string>;
  zoneId: pulumi.Input<string>;
}

const isAlias = (target: DnsArgs['target']): target is AliasTarget => typeof target === 'object' && target !== null && 'zoneId' in target;

/**
 * The bot's name: a CNAME to the host's public DNS name (inside the VPC that name resolves to
 * the private address, outside to the Elastic IP), or an alias of a load balancer.
 */
export class Dns extends pulumi.ComponentResource {
  public readonly fqdn: pulumi.Output<string>;

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:dns:Dns', name, {}, opts);

    const target = args.target;
    const record = new aws.route53.Record(
      `${name}-host`,
      // A stack rebuilt elsewhere (another region after a lost one) takes the name over from the
      // record the lost stack left behind.
      isAlias(target)
        ? { zoneId: args.zoneId, name: args.fqdn, type: 'A', aliases: [{ name: target.dnsName, zoneId: target.zoneId, evaluateTargetHealth: true }], allowOverwrite: true }
        : { zoneId: args.zoneId, name: args.fqdn, type: 'CNAME', ttl: args.ttl, records: [target], allowOverwrite: true },
      { parent: this },
    );
    this.fqdn = record.fqdn;

    this.registerOutputs({ fqdn: this.fqdn });
  }
}
