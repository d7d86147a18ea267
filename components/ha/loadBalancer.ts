import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { PORTS, ROUTES, SHUTDOWN_GRACE_MS } from '../../app/src/contract';
import { Dns } from '../shared/dns';

export interface LoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  /** One public subnet per zone. */
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  /** The hosted zone and the bot's name in it: the certificate's subject and the alias. */
  zoneId: pulumi.Input<string>;
  fqdn: string;
}

/** ALB's TLS policy: TLS 1.2 and 1.3 only, forward-secret ciphers. */
const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/**
 * Seconds a draining target keeps its connections: the gateway's own shutdown grace, rounded up.
 * ECS stops a task only after its target has drained, so a request that began before the
 * deregistration finishes on the task it started on.
 */
export const DEREGISTRATION_DELAY_SECONDS = Math.ceil(SHUTDOWN_GRACE_MS / 1000);

/**
 * The tier's front door: an Application Load Balancer over two zones with HTTPS on 443 under an
 * ACM certificate validated through Route53 (HTTP on 80 redirects there), forwarding to the
 * gateway's port 18789 on each task, which stays healthy only while GET /ready says so; and the
 * bot's DNS name as an alias of it (components/shared/dns.ts).
 */
export class LoadBalancer extends pulumi.ComponentResource {
  public readonly targetGroupArn: pulumi.Output<string>;
  /** The dimensions of ALB metrics (app/..., targetgroup/...). */
  public readonly arnSuffix: pulumi.Output<string>;
  public readonly targetGroupArnSuffix: pulumi.Output<string>;
  public readonly fqdn: pulumi.Output<string>;
  /** The HTTPS listener: the service registers targets only once it forwards. */
  public readonly httpsListener: aws.lb.Listener;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:ha:LoadBalancer', name, {}, opts);
    const child = { parent: this };

    const certificate = new aws.acm.Certificate(`${name}-cert`, { domainName: args.fqdn, validationMethod: 'DNS' }, child);
    // One name, so one validation record: ACM's CNAME that proves the zone is ours.
    const challenge = certificate.domainValidationOptions.apply((options) => options[0]);
    const validationRecord = new aws.route53.Record(
      `${name}-cert-validation`,
      { zoneId: args.zoneId, name: challenge.resourceRecordName, type: challenge.resourceRecordType, records: [challenge.resourceRecordValue], ttl: 60, allowOverwrite: true },
      child,
    );
    const validation = new aws.acm.CertificateValidation(`${name}-cert`, { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] }, child);

    const loadBalancer = new aws.lb.LoadBalancer(
      `${name}-lb`,
      { loadBalancerType: 'application', internal: false, subnets: args.subnetIds, securityGroups: [args.securityGroupId], dropInvalidHeaderFields: true },
      child,
    );
    this.arnSuffix = loadBalancer.arnSuffix;
    const targetGroup = new aws.lb.TargetGroup(
      `${name}-gateway`,
      {
        vpcId: args.vpcId,
        targetType: 'ip',
        protocol: 'HTTP',
        port: PORTS.gateway,
        deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
        healthCheck: { path: ROUTES.ready, port: 'traffic-port', matcher: '200', interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
      },
      child,
    );
    this.targetGroupArn = targetGroup.arn;
    this.targetGroupArnSuffix = targetGroup.arnSuffix;

    this.httpsListener = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: PORTS.https,
        protocol: 'HTTPS',
        sslPolicy: TLS_POLICY,
        certificateArn: validation.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      },
      child,
    );
    new aws.lb.Listener(
      `${name}-http`,
      { loadBalancerArn: loadBalancer.arn, port: 80, protocol: 'HTTP', defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: String(PORTS.https), statusCode: 'HTTP_301' } }] },
      child,
    );

    const dns = new Dns(name, { zoneId: args.zoneId, fqdn: args.fqdn, target: { dnsName: loadBalancer.dnsName, zoneId: loadBalancer.zoneId } }, child);
    this.fqdn = dns.fqdn;

    this.registerOutputs({ targetGroupArn: this.targetGroupArn, arnSuffix: this.arnSuffix, targetGroupArnSuffix: this.targetGroupArnSuffix, fqdn: this.fqdn });
  }
}
