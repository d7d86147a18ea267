import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS } from '../../app/src/contract';

/** CIDRs by address family, as security group rules take them. */
export interface CidrsByFamily {
  ipv4: pulumi.Input<string[]>;
  ipv6: pulumi.Input<string[]>;
}

/**
 * How Pulumi (and `npm run rollback`) reach sshd: `ssm` through a Session Manager tunnel
 * (infra/ssm-tunnel.ts), with no inbound SSH rule at all; `direct` from sshAllowedCidrs.
 */
export type SshAccess = 'ssm' | 'direct';

export interface NetworkArgs {
  /**
   * `default`: the account's default VPC; `dedicated`: a small VPC with one public subnet. A plain
   * value: it decides which resources exist.
   */
  vpc: 'default' | 'dedicated';
  /** The subnet is placed in a zone that offers this type. */
  instanceType: pulumi.Input<string>;
  /** Plain: it decides whether an SSH rule exists. */
  sshAccess: SshAccess;
  sshPort: pulumi.Input<number>;
  /** Used with sshAccess direct. */
  sshAllowedCidrs: CidrsByFamily;
  publicCidrs: CidrsByFamily;
}

const DEDICATED_VPC_CIDR = '10.42.0.0/16';
const DEDICATED_SUBNET_CIDR = '10.42.0.0/24';

/**
 * Where the host lives: a public subnet and a security group whose inbound rules are exactly
 * the gateway and HTTPS from publicCidrs, and, with sshAccess direct only, SSH on the custom port
 * from sshAllowedCidrs. With ssm, sshd is reached through Session Manager, whose agent dials out.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:network:Network', name, {}, opts);

    // t4g is not offered in every zone; pick among the zones that have the instance type.
    const zones = aws.ec2
      .getInstanceTypeOfferingsOutput(
        { locationType: 'availability-zone', filters: [{ name: 'instance-type', values: [args.instanceType] }] },
        { parent: this },
      )
      .apply((offerings) => [...offerings.locations].sort());

    if (args.vpc === 'default') {
      this.vpcId = aws.ec2.getVpcOutput({ default: true }, { parent: this }).id;
      this.subnetId = aws.ec2
        .getSubnetsOutput(
          {
            filters: [
              { name: 'vpc-id', values: [this.vpcId] },
              { name: 'default-for-az', values: ['true'] },
              { name: 'availability-zone', values: zones },
            ],
          },
          { parent: this },
        )
        .apply((subnets) => {
          const [first] = [...subnets.ids].sort();
          if (first === undefined) {
            throw new Error(`${name}: the default VPC has no default subnet in a zone that offers the instance type; use vpc: dedicated`);
          }
          return first;
        });
    } else {
      const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        { cidrBlock: DEDICATED_VPC_CIDR, enableDnsSupport: true, enableDnsHostnames: true },
        { parent: this },
      );
      const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, { parent: this });
      const subnet = new aws.ec2.Subnet(
        `${name}-public`,
        {
          vpcId: vpc.id,
          cidrBlock: DEDICATED_SUBNET_CIDR,
          availabilityZone: zones.apply((list) => {
            if (list.length === 0) throw new Error(`${name}: no availability zone in this region offers the instance type`);
            return list[0];
          }),
          // The host needs the internet for its first boot, before its Elastic IP is attached.
          mapPublicIpOnLaunch: true,
        },
        { parent: this },
      );
      const routes = new aws.ec2.RouteTable(
        `${name}-public`,
        { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }] },
        { parent: this },
      );
      new aws.ec2.RouteTableAssociation(`${name}-public`, { subnetId: subnet.id, routeTableId: routes.id }, { parent: this });
      this.vpcId = vpc.id;
      this.subnetId = subnet.id;
    }

    const publicSources = { cidrBlocks: args.publicCidrs.ipv4, ipv6CidrBlocks: args.publicCidrs.ipv6 };
    const sshSources = { cidrBlocks: args.sshAllowedCidrs.ipv4, ipv6CidrBlocks: args.sshAllowedCidrs.ipv6 };
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-host`,
      {
        description: 'clawdbot host: gateway, HTTPS and SSH on a custom port',
        vpcId: this.vpcId,
        // Inline rules are authoritative: a rule added by hand elsewhere is removed on the next update.
        ingress: [
          { description: 'clawdbot gateway', protocol: 'tcp', fromPort: PORTS.gateway, toPort: PORTS.gateway, ...publicSources },
          { description: 'HTTPS (Caddy)', protocol: 'tcp', fromPort: PORTS.https, toPort: PORTS.https, ...publicSources },
          ...(args.sshAccess === 'direct' ? [{ description: 'SSH', protocol: 'tcp', fromPort: args.sshPort, toPort: args.sshPort, ...sshSources }] : []),
        ],
        egress: [{ description: 'outbound', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] }],
      },
      { parent: this },
    );
    this.securityGroupId = securityGroup.id;

    this.registerOutputs({ vpcId: this.vpcId, subnetId: this.subnetId, securityGroupId: this.securityGroupId });
  }
}
