import { createHash } from 'node:crypto';
import type * as pulumi from '@pulumi/pulumi';

// The AWS account a simulation runs against.

const ACCOUNT = '123456789012';

/** What the mocked AWS account contains. */
const MOCK_ACCOUNT = {
  hostedZones: ['example.com'],
} as const;

const stableHash = (text: string) => createHash('sha256').update(text).digest('hex');

/** The SSH host key the mocked instance reports over SSM. */
export const PLACEHOLDER_HOST_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from('0000000b7373682d6564323535313900000020', 'hex'), createHash('sha256').update('host key').digest()]).toString('base64')}`;

/** Deterministic stand-ins for what AWS would compute, so plans and snapshots are stable. */
export function mockState(args: pulumi.runtime.MockResourceArgs, region: string): Record<string, unknown> {
  const { type, name, inputs } = args;
  const service = type.split(':')[1]?.split('/')[0] ?? 'unknown';
  const arn = `arn:aws:${service}:${region}:${ACCOUNT}:${name}`;
  switch (type) {
    case 'random:index/randomPassword:RandomPassword': {
      const alphabet = stableHash(name).replace(/[^A-Za-z0-9]/g, '');
      return { result: alphabet.repeat(Math.ceil(inputs.length / alphabet.length)).slice(0, inputs.length) };
    }
    case 'aws:s3/bucket:Bucket': {
      const bucket = inputs.bucket ?? `${name}-${stableHash(name).slice(0, 7)}`;
      return { bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case 'aws:ec2/eip:Eip':
      return { publicIp: '203.0.113.10', publicDns: `ec2-203-0-113-10.${region}.compute.amazonaws.com`, arn };
    case 'aws:ec2/instance:Instance':
      return { arn, publicIp: '198.51.100.7', publicDns: `ec2-198-51-100-7.${region}.compute.amazonaws.com` };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { arn: `arn:aws:logs:${region}:${ACCOUNT}:log-group:${inputs.name}` };
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return { arn: `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${inputs.name}` };
    case 'aws:route53/healthCheck:HealthCheck':
      return { arn: `arn:aws:route53:::healthcheck/${name}-id` };
    case 'aws:route53/record:Record':
      return { fqdn: inputs.name };
    case 'aws:ec2/keyPair:KeyPair':
      return { keyName: name, arn };
    case 'aws:kms/key:Key':
      return { keyId: stableHash(name).slice(0, 36), arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${stableHash(name).slice(0, 36)}` };
    case 'aws:iam/role:Role':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
    case 'aws:iam/instanceProfile:InstanceProfile':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}` };
    case 'aws:iam/user:User':
      return { name: `${name}-${stableHash(name).slice(0, 7)}`, arn: `arn:aws:iam::${ACCOUNT}:user${inputs.path ?? '/'}${name}` };
    case 'aws:iam/accessKey:AccessKey':
      return { secret: `placeholder-secret-access-key-${stableHash(name).slice(0, 24)}` };
    case 'aws:ecr/repository:Repository':
      return { arn, name, registryId: ACCOUNT, repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}` };
    case 'docker:index/image:Image':
      // A local image's repoDigest is its ID, a pushed one's repository@digest; both follow the build.
      return { repoDigest: `${inputs.skipPush ? '' : `${String(inputs.imageName).split(':')[0]}@`}sha256:${stableHash(JSON.stringify(inputs.build))}` };
    case 'aws:acm/certificate:Certificate':
      return { arn, domainValidationOptions: [{ domainName: inputs.domainName, resourceRecordName: `_${stableHash(name).slice(0, 8)}.${inputs.domainName}.`, resourceRecordType: 'CNAME', resourceRecordValue: `_${stableHash(arn).slice(0, 8)}.acm-validations.aws.` }] };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { arn, arnSuffix: `app/${name}/${stableHash(name).slice(0, 16)}`, dnsName: `${name}-${stableHash(name).slice(0, 8)}.${region}.elb.amazonaws.com`, zoneId: 'Z1LMS91P8CMLE5' };
    case 'aws:lb/targetGroup:TargetGroup':
      return { arn, arnSuffix: `targetgroup/${name}/${stableHash(name).slice(0, 16)}` };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return { arn, primaryEndpointAddress: `master.${name}.cache.amazonaws.com` };
    case 'aws:ecs/cluster:Cluster':
    case 'aws:ecs/service:Service':
    case 'aws:backup/vault:Vault':
      return { arn, name: inputs.name ?? name };
    case 'command:remote:Command':
      return { stdout: '', stderr: '' };
    case 'command:local:Command':
      // The host-key step prints the instance's key (components/single-host/hostKey.ts).
      return { stdout: name.endsWith('-host-key') ? `${PLACEHOLDER_HOST_KEY}\n` : '', stderr: '' };
    default:
      return { arn };
  }
}

/** Answers the lookups (invokes) the stack makes. */
export function mockCall(args: pulumi.runtime.MockCallArgs, region: string): Record<string, unknown> {
  const { token, inputs } = args;
  switch (token) {
    case 'aws:route53/getZone:getZone':
      if (!(MOCK_ACCOUNT.hostedZones as readonly string[]).includes(inputs.name)) throw new Error('no matching Route 53 Hosted Zone found');
      return { zoneId: `Z${stableHash(inputs.name).slice(0, 12).toUpperCase()}`, name: inputs.name };
    case 'aws:ssm/getParameter:getParameter': {
      const ami = `ami-${stableHash(inputs.name).slice(0, 17)}`;
      return { name: inputs.name, type: 'String', value: ami, insecureValue: ami };
    }
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
    case 'aws:index/getServicePrincipal:getServicePrincipal':
      return { name: `${inputs.serviceName}.amazonaws.com`, suffix: 'amazonaws.com', id: inputs.serviceName };
    case 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings':
      return { locations: [`${region}b`, `${region}a`], instanceTypes: [], locationTypes: [] };
    case 'aws:index/getAvailabilityZones:getAvailabilityZones':
      return { names: [`${region}a`, `${region}b`, `${region}c`], zoneIds: [], id: region };
    case 'aws:ec2/getVpc:getVpc':
      return { id: 'vpc-0default' };
    case 'aws:ec2/getSubnet:getSubnet':
      return { id: inputs.id, availabilityZone: `${region}${String(inputs.id).slice(-1)}` };
    case 'aws:ec2/getSubnets:getSubnets':
      return { ids: ['subnet-0default-b', 'subnet-0default-a'] };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/placeholder`, userId: 'AIDAPLACEHOLDER', id: ACCOUNT };
    case 'aws:index/getRegion:getRegion':
      return { region, name: region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { userName: 'AWS', password: 'placeholder-ecr-token', authorizationToken: 'placeholder', proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${region}.amazonaws.com`, expiresAt: '', id: ACCOUNT };
    default:
      throw new Error(`the simulation does not mock ${token}`);
  }
}
