import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS } from '../../app/src/contract';
import type { CidrsByFamily } from '../single-host/network';

export interface NetworkArgs {
  /** Who may reach the load balancer. */
  publicCidrs: CidrsByFamily;
}

/** Availability zones the tier spreads over: a zone's loss leaves the other serving. */
export const ZONE_COUNT = 2;
const VPC_CIDR = '10.60.0.0/16';
/** Port of the Redis protocol, TLS included. */
export const REDIS_PORT = 6379;
const NFS_PORT = 2049;

/**
 * A VPC of the tier's own with one public subnet in each of two zones, and a security group per
 * tier of traffic: the internet reaches only the load balancer, the load balancer only the
 * gateway's port on the tasks, the tasks only Redis and EFS. The tasks sit in the public subnets
 * with public addresses (their egress to the model APIs, ECR and CloudWatch) and no inbound
 * rule from outside: a NAT gateway per zone would cost more than the whole tier's compute.
 */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetIds: pulumi.Output<string>[];
  public readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
  public readonly taskSecurityGroupId: pulumi.Output<string>;
  public readonly cacheSecurityGroupId: pulumi.Output<string>;
  public readonly fileSystemSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:Network', name, {}, opts);
    const child = { parent: this };

    const zones = aws.getAvailabilityZonesOutput({ state: 'available', filters: [{ name: 'zone-type', values: ['availability-zone'] }] }, child).names;
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: VPC_CIDR, enableDnsSupport: true, enableDnsHostnames: true, tags: { Name: name } }, child);
    this.vpcId = vpc.id;
    const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, child);
    const routes = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }] }, child);
    this.subnetIds = Array.from({ length: ZONE_COUNT }, (_, index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${index}`,
        { vpcId: vpc.id, availabilityZone: zones[index], cidrBlock: `10.60.${index}.0/24`, mapPublicIpOnLaunch: true, tags: { Name: `${name}-public-${index}` } },
        child,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${index}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
      return subnet.id;
    });

    const outbound = [{ description: 'outbound', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] }];
    const publicSources = { cidrBlocks: args.publicCidrs.ipv4, ipv6CidrBlocks: args.publicCidrs.ipv6 };
    const group = (suffix: string, description: string, ingress: aws.types.input.ec2.SecurityGroupIngress[]) =>
      new aws.ec2.SecurityGroup(`${name}-${suffix}`, { vpcId: vpc.id, description, ingress, egress: outbound, tags: { Name: `${name}-${suffix}` } }, child);

    const loadBalancer = group('lb', `${name}: the load balancer, from publicCidrs`, [
      { description: 'HTTPS', protocol: 'tcp', fromPort: PORTS.https, toPort: PORTS.https, ...publicSources },
      { description: 'HTTP, redirected to HTTPS', protocol: 'tcp', fromPort: 80, toPort: 80, ...publicSources },
    ]);
    const tasks = group('tasks', `${name}: the gateway tasks, from the load balancer only`, [
      { description: 'gateway', protocol: 'tcp', fromPort: PORTS.gateway, toPort: PORTS.gateway, securityGroups: [loadBalancer.id] },
    ]);
    const cache = group('cache', `${name}: Redis, from the tasks only`, [{ description: 'Redis over TLS', protocol: 'tcp', fromPort: REDIS_PORT, toPort: REDIS_PORT, securityGroups: [tasks.id] }]);
    const fileSystem = group('efs', `${name}: EFS, from the tasks only`, [{ description: 'NFS over TLS', protocol: 'tcp', fromPort: NFS_PORT, toPort: NFS_PORT, securityGroups: [tasks.id] }]);
    this.loadBalancerSecurityGroupId = loadBalancer.id;
    this.taskSecurityGroupId = tasks.id;
    this.cacheSecurityGroupId = cache.id;
    this.fileSystemSecurityGroupId = fileSystem.id;

    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
      taskSecurityGroupId: this.taskSecurityGroupId,
      cacheSecurityGroupId: this.cacheSecurityGroupId,
      fileSystemSecurityGroupId: this.fileSystemSecurityGroupId,
    });
  }
}
