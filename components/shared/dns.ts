import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';

export interface DnsArgs {
  /** The hosted zone, looked up by name when the config was read. */
  zoneId: pulumi.Input<string>;
  /** Fully qualified record name, <hostName>.<domain>. */
  fqdn: pulumi.Input<string>;
  /** The host's public DNS name (its Elastic IP's). */
  target: pulumi.Input<string>;
  ttl: pulumi.Input<number>;
}

/**
 * The bot's name: a CNAME to the host's public DNS name. Inside the VPC that name resolves to
 * the private address, outside to the Elastic IP.
 */
export class Dns extends pulumi.ComponentResource {
  public readonly fqdn: pulumi.Output<string>;

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:dns:Dns', name, {}, opts);

    const record = new aws.route53.Record(
      `${name}-host`,
      { zoneId: args.zoneId, name: args.fqdn, type: 'CNAME', ttl: args.ttl, records: [args.target] },
      { parent: this },
    );
    this.fqdn = record.fqdn;

    this.registerOutputs({ fqdn: this.fqdn });
  }
}
