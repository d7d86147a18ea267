import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { loadSettings } from '../../app/src/lib/config';
import { CLOUDWATCH_NAMESPACE, HOST_PATHS, METRICS, PORTS } from '../../app/src/contract';
import { isSecretValue, reveal, simulate, type SimulatedResource, type SimulateOptions, type Simulation } from '../../infra/simulate';
import { utils as sshUtils } from 'ssh2';
import { SSH_USER } from '../../components/single-host/host';
import { PLACEHOLDER_HOST_KEY } from '../../infra/simulate/aws-mocks';
import { SSM_TUNNEL_PORT } from '../../infra/ssm-tunnel';
import { ancestors, bashArray, inputs, named, ofType, only, strings, userDataOf, waitsFor, writtenFile } from './graph';

// The whole program (infra/index.ts), evaluated under Pulumi's mocks for the committed dev and
// prod stack files plus placeholder secrets; every assertion is on the resulting resource graph.

// A whole-program simulation takes seconds on a busy 2-core machine; the default 5 s is not a bound
// on anything this suite asserts.
jest.setTimeout(60_000);

let dev: Simulation;
let prod: Simulation;

beforeAll(async () => {
  dev = await simulate('dev');
  prod = await simulate('prod');
});

const stacks = () => [
  ['dev', dev],
  ['prod', prod],
] as const;

const alarmTopicArn = (simulation: Simulation) => simulation.outputs.alarmTopicArn as string;
/** What the backup bucket gets besides itself, sorted. */
const BUCKET_SETTINGS = [
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
  'aws:s3/bucketPolicy:BucketPolicy',
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  'aws:s3/bucketVersioning:BucketVersioning',
];
const fileIn = (simulation: Simulation, path: string) => writtenFile(userDataOf(simulation), path);
/** The backup.env the deployment writes on the host (through stdin). */
const backupEnvOf = (simulation: Simulation) => inputs(named(simulation, `clawdbot-${simulation.stack}-backup-settings`)).stdin as string;
/** Provider inputs arrive as JSON strings for nested values. */
const providerValue = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

describe('security group', () => {
  const ingress = (simulation: Simulation) =>
    (inputs(only(simulation, 'aws:ec2/securityGroup:SecurityGroup')).ingress as any[])
      .map((rule) => ({
        protocol: rule.protocol,
        fromPort: rule.fromPort,
        toPort: rule.toPort,
        cidrBlocks: rule.cidrBlocks,
        ipv6CidrBlocks: rule.ipv6CidrBlocks,
      }))
      .sort((a, b) => a.fromPort - b.fromPort);
  const everyone = { cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] };

  it('opens exactly the gateway and HTTPS to publicCidrs, and no SSH port at all with sshAccess ssm (the default, dev and prod)', () => {
    for (const simulation of [prod, dev]) {
      expect(ingress(simulation)).toEqual([
        { protocol: 'tcp', fromPort: PORTS.https, toPort: PORTS.https, ...everyone },
        { protocol: 'tcp', fromPort: PORTS.gateway, toPort: PORTS.gateway, ...everyone },
      ]);
    }
  });

  it('is the only source of inbound rules', () => {
    for (const [, simulation] of stacks()) {
      expect(ofType(simulation, 'aws:ec2/securityGroup:SecurityGroup')).toHaveLength(1);
      expect(simulation.resources.filter((r) => /securityGroupIngressRule|securityGroupRule/.test(r.type))).toEqual([]);
    }
  });

  it('opens the same ports on the host firewall (ufw); the sources are the group\'s alone, changed in place', async () => {
    const direct = await simulate('prod', { config: { sshAccess: 'direct', sshAllowedCidrs: ['203.0.113.0/24'] } });
    for (const simulation of [prod, dev, direct]) {
      const script = fileIn(simulation, '/usr/local/sbin/clawdbot-provision');
      const rules = ingress(simulation);
      const ssh = rules.find((rule) => rule.fromPort === 2222);
      expect(bashArray(script, 'public_ports').map(Number).sort()).toEqual(rules.filter((rule) => rule !== ssh).map((rule) => rule.fromPort).sort());
      expect(script).toContain("ssh_port='2222'");
    }
  });

  it('with sshAccess direct, follows publicCidrs, sshAllowedCidrs and sshPort from config, splitting mixed lists by family', async () => {
    const custom = await simulate('prod', {
      config: { sshAccess: 'direct', publicCidrs: ['198.51.100.0/24', '2001:db8:1::/48', '192.0.2.0/24'], sshAllowedCidrs: ['2001:db8:2::/64', '203.0.113.0/24'], sshPort: 40022 },
    });
    const publicSources = { cidrBlocks: ['198.51.100.0/24', '192.0.2.0/24'], ipv6CidrBlocks: ['2001:db8:1::/48'] };
    expect(ingress(custom)).toEqual([
      { protocol: 'tcp', fromPort: PORTS.https, toPort: PORTS.https, ...publicSources },
      { protocol: 'tcp', fromPort: PORTS.gateway, toPort: PORTS.gateway, ...publicSources },
      { protocol: 'tcp', fromPort: 40022, toPort: 40022, cidrBlocks: ['203.0.113.0/24'], ipv6CidrBlocks: ['2001:db8:2::/64'] },
    ]);
  });
});

describe('network', () => {
  it('dev uses the default VPC, in a zone that offers the instance type', () => {
    expect(ofType(dev, 'aws:ec2/vpc:Vpc')).toEqual([]);
    expect(inputs(only(dev, 'aws:ec2/securityGroup:SecurityGroup')).vpcId).toBe('vpc-0default');
    const subnetLookup = dev.calls.find((call) => call.token === 'aws:ec2/getSubnets:getSubnets')!;
    expect(subnetLookup.inputs.filters).toContainEqual({ name: 'availability-zone', values: ['ap-southeast-1a', 'ap-southeast-1b'] });
    expect(inputs(only(dev, 'aws:ec2/instance:Instance')).subnetId).toBe('subnet-0default-a');
  });

  it('prod gets a dedicated VPC with one public subnet routed to an internet gateway', () => {
    const vpc = inputs(only(prod, 'aws:ec2/vpc:Vpc'));
    expect(vpc).toMatchObject({ enableDnsHostnames: true, enableDnsSupport: true });
    const subnet = inputs(only(prod, 'aws:ec2/subnet:Subnet'));
    expect(subnet).toMatchObject({ availabilityZone: 'ap-southeast-1a', mapPublicIpOnLaunch: true });
    const igw = only(prod, 'aws:ec2/internetGateway:InternetGateway');
    expect(inputs(only(prod, 'aws:ec2/routeTable:RouteTable')).routes).toEqual([
      expect.objectContaining({ cidrBlock: '0.0.0.0/0', gatewayId: `${igw.name}-id` }),
    ]);
    expect(inputs(only(prod, 'aws:ec2/instance:Instance')).subnetId).toBe(`${only(prod, 'aws:ec2/subnet:Subnet').name}-id`);
  });
});

describe('host', () => {
  it('requires IMDSv2 with hop limit 1 (no container may reach the role), an encrypted gp3 root of at least 50 GB and detailed monitoring', () => {
    for (const [, simulation] of stacks()) {
      const instance = inputs(only(simulation, 'aws:ec2/instance:Instance'));
      expect(instance.metadataOptions).toEqual({ httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 });
      expect(instance.rootBlockDevice).toMatchObject({ volumeType: 'gp3', encrypted: true });
      expect(instance.rootBlockDevice.volumeSize).toBeGreaterThanOrEqual(50);
      expect(instance.monitoring).toBe(true);
      expect(instance.instanceType).toBe('t4g.medium');
    }
  });

  /** Inputs of the instance whose change makes AWS (and so Pulumi) replace it. */
  const replaceForcing = (simulation: Simulation) => {
    const instance = inputs(only(simulation, 'aws:ec2/instance:Instance'));
    return {
      ami: instance.ami,
      keyName: instance.keyName,
      subnetId: instance.subnetId,
      userData: instance.userData,
      availabilityZone: instance.availabilityZone,
      associatePublicIpAddress: instance.associatePublicIpAddress,
    };
  };

  const rotatedKey = sshUtils.generateKeyPairSync('ed25519', { comment: 'rotated@test' });
  const direct = { sshAccess: 'direct', sshAllowedCidrs: ['203.0.113.0/24'] };
  it.each([
    ['sshAllowedCidrs', { config: direct }, { config: { ...direct, sshAllowedCidrs: ['198.51.100.0/24', '2001:db8::/48'] } }],
    ['publicCidrs', {}, { config: { publicCidrs: ['192.0.2.0/24'] } }],
    ['backupSchedule', {}, { config: { backupSchedule: 'hourly' } }],
    ['backupRetentionDays', {}, { config: { backupRetentionDays: 14 } }],
    ['sshPublicKey', {}, { config: { sshPublicKey: rotatedKey.public }, secrets: { sshPrivateKey: rotatedKey.private } }],
  ] as const)('keeps the prod host when %s changes: every replace-forcing input stays', async (_key, before, after) => {
    const base = Object.keys(before).length === 0 ? prod : await simulate('prod', before as SimulateOptions);
    const changed = await simulate('prod', after as SimulateOptions);
    expect(replaceForcing(changed)).toEqual(replaceForcing(base));
    // ...and the change does reach AWS or the host, in place.
    const inPlace = [
      ['aws:ec2/securityGroup:SecurityGroup', 'clawdbot-prod-host'],
      ['command:remote:Command', 'clawdbot-prod-backup-settings'],
      ['command:remote:Command', 'clawdbot-prod-backup-timer'],
      ['command:remote:Command', 'clawdbot-prod-authorized-key'],
    ];
    // What each one applies (a command's login, which follows the deploy key, aside).
    const applied = (simulation: Simulation, type: string, name: string) => JSON.stringify({ ...inputs(only(simulation, type, name)), connection: undefined });
    const differs = ([type, name]: string[]) => applied(changed, type, name) !== applied(base, type, name);
    expect(inPlace.filter(differs)).toHaveLength(1);
  });

  it('applies a new deploy key on the running host, and to the key pair a new instance would start with', async () => {
    const key = sshUtils.generateKeyPairSync('ed25519', { comment: 'rotated@test' });
    const rotated = await simulate('prod', { config: { sshPublicKey: key.public }, secrets: { sshPrivateKey: key.private } });
    expect(inputs(named(rotated, 'clawdbot-prod-authorized-key')).create).toContain(`AUTHORIZED_KEY='${key.public}'`);
    expect(inputs(only(rotated, 'aws:ec2/keyPair:KeyPair'))).toMatchObject({ keyName: 'clawdbot-prod-ssh', publicKey: key.public });
    expect(only(rotated, 'aws:ec2/keyPair:KeyPair').deleteBeforeReplace).toBe(true);
  });

  it('is replaced, not restarted, when its user data changes, since cloud-init runs on first boot only', async () => {
    for (const [, simulation] of stacks()) expect(inputs(only(simulation, 'aws:ec2/instance:Instance')).userDataReplaceOnChange).toBe(true);
    const movedSsh = await simulate('prod', { config: { sshPort: 40022 } });
    expect(inputs(only(movedSsh, 'aws:ec2/instance:Instance')).userData).not.toBe(inputs(only(prod, 'aws:ec2/instance:Instance')).userData);
  });

  it('is termination-protected in prod only', () => {
    expect(inputs(only(prod, 'aws:ec2/instance:Instance')).disableApiTermination).toBe(true);
    expect(inputs(only(dev, 'aws:ec2/instance:Instance')).disableApiTermination).toBe(false);
  });

  it('boots the image pinned by `ami`, so a new one is a config change that replaces the host, never a surprise', async () => {
    for (const [, simulation] of stacks()) {
      expect(inputs(only(simulation, 'aws:ec2/instance:Instance')).ami).toBe('ami-0123456789abcdef0');
      expect(only(simulation, 'aws:ec2/instance:Instance').ignoreChanges).toEqual([]);
      expect(simulation.calls.filter((call) => call.token === 'aws:ssm/getParameter:getParameter')).toEqual([]);
    }
    const upgraded = await simulate('prod', { config: { ami: 'ami-0fedcba9876543210' } });
    expect(replaceForcing(upgraded)).toEqual({ ...replaceForcing(prod), ami: 'ami-0fedcba9876543210' });
  });

  it('keeps its state on an encrypted data volume in its zone, re-attached to a replacement after the old instance stopped', () => {
    for (const [, simulation] of stacks()) {
      const instance = only(simulation, 'aws:ec2/instance:Instance');
      const volume = only(simulation, 'aws:ebs/volume:Volume');
      expect(inputs(volume)).toMatchObject({ type: 'gp3', encrypted: true, size: 20 });
      const subnetZone = simulation.stack === 'prod' ? inputs(only(simulation, 'aws:ec2/subnet:Subnet')).availabilityZone : 'ap-southeast-1a';
      expect(inputs(volume).availabilityZone).toBe(subnetZone);
      const attachment = only(simulation, 'aws:ec2/volumeAttachment:VolumeAttachment');
      expect(inputs(attachment)).toMatchObject({ instanceId: `${instance.name}-id`, volumeId: `${volume.name}-id`, stopInstanceBeforeDetaching: true });
      expect(attachment.deleteBeforeReplace).toBe(true);
      expect(fileIn(simulation, '/usr/local/sbin/clawdbot-provision')).toContain(`data_volume_id='${volume.name}-id'`);
    }
  });

  it('protects the instance, its Elastic IP and its data volume in prod only', () => {
    for (const type of ['aws:ec2/instance:Instance', 'aws:ec2/eip:Eip', 'aws:ebs/volume:Volume']) {
      expect({ type, protect: only(prod, type).protect }).toEqual({ type, protect: true });
      expect({ type, protect: only(dev, type).protect }).toEqual({ type, protect: false });
    }
  });

  it('gets an Elastic IP and the configured key pair, by its fixed name', () => {
    const instance = only(prod, 'aws:ec2/instance:Instance');
    expect(inputs(only(prod, 'aws:ec2/eip:Eip'))).toMatchObject({ domain: 'vpc', instance: `${instance.name}-id` });
    expect(inputs(only(prod, 'aws:ec2/keyPair:KeyPair')).publicKey).toMatch(/^ssh-ed25519 /);
    expect(inputs(instance).keyName).toBe(inputs(only(prod, 'aws:ec2/keyPair:KeyPair')).keyName);
    expect(waitsFor(prod, instance, only(prod, 'aws:ec2/keyPair:KeyPair'))).toBe(true);
  });

  it('has a least-privilege role: its own backup prefix, the agent, SSM', () => {
    for (const [, simulation] of stacks()) {
      const bucketArn = `arn:aws:s3:::${simulation.outputs.backupBucketName}`;
      const prefix = `clawdbot-${simulation.stack}/`;
      const statements = inputs(only(simulation, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${simulation.stack}-host`)).policy.Statement as any[];
      const sid = (name: string) => statements.find((statement) => statement.Sid === name);

      expect(sid('ReadWriteOwnBackups')).toMatchObject({ Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${bucketArn}/${prefix}*` });
      expect(sid('ListOwnBackups')).toMatchObject({ Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } });
      expect(sid('HostMetrics').Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'CWAgent' } });
      for (const statement of statements) {
        expect(statement.Effect).toBe('Allow');
        expect([statement.Action].flat().every((action: string) => !action.endsWith('*'))).toBe(true);
        if (statement.Resource === '*') expect(statement.Condition).toBeDefined();
      }
      const attachments = ofType(simulation, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').map((r) => inputs(r).policyArn);
      expect(attachments).toContain('arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore');
      const trustedBy = (role: string) => inputs(only(simulation, 'aws:iam/role:Role', `clawdbot-${simulation.stack}-${role}`)).assumeRolePolicy.Statement;
      expect(trustedBy('host')).toEqual([expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
      expect(trustedBy('snapshots')).toEqual([expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'dlm.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
    }
    const kmsKeyArn = `arn:aws:kms:ap-southeast-1:123456789012:key/`;
    const prodStatements = inputs(only(prod, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${prod.stack}-host`)).policy.Statement as any[];
    expect(prodStatements.find((statement) => statement.Sid === 'UseBackupKey').Resource).toContain(kmsKeyArn);
    expect(inputs(only(dev, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${dev.stack}-host`)).policy.Statement.map((s: any) => s.Sid)).not.toContain('UseBackupKey');
  });

  it('gets the backup timer on backupSchedule, daily by default, from the deployment', async () => {
    const schedule = 'Mon..Fri *-*-* 01:30:00';
    const simulation = await simulate('dev', { config: { backupSchedule: schedule } });
    expect(inputs(named(simulation, 'clawdbot-dev-backup-timer')).create).toContain(`\nOnCalendar=${schedule}\n`);
    expect(inputs(named(dev, 'clawdbot-dev-backup-timer')).create).toContain('\nOnCalendar=daily\n');
  });

  it('gets its backup settings from the deployment, with no access key: it uses its role', () => {
    expect(backupEnvOf(prod)).toBe(`BACKUP_BUCKET=${prod.outputs.backupBucketName}\nBACKUP_PREFIX=clawdbot-prod/\nBACKUP_RETENTION_DAYS=90\nAWS_REGION=ap-southeast-1\n`);
  });

  it('renders its user data from the stack config', () => {
    expect(fileIn(prod, '/etc/ssh/sshd_config.d/10-clawdbot.conf')).toContain('Port 2222\n');
    expect(parse(fileIn(dev, '/etc/clawdbot/prometheus.yaml')).scrape_configs[0].static_configs[0].labels).toEqual({ Stack: 'dev' });
  });
});

describe('alarms', () => {
  const recover = 'arn:aws:automate:ap-southeast-1:ec2:recover';
  const appMetric = (metric: string) => ({ namespace: CLOUDWATCH_NAMESPACE, metric });
  interface AlarmRow {
    alarm: string;
    namespace?: string;
    metric?: string;
    stat?: string;
    /** Metric math: 100 × first ÷ second. */
    ratio?: [string, string];
    above?: number;
    below?: number;
    atLeast?: number;
    windowSeconds: number;
    /** Set for a sustained condition: every period of the window must breach. */
    datapointsToAlarm?: number;
    missingData: 'missing' | 'notBreaching' | 'breaching';
  }
  const table: AlarmRow[] = [
    { alarm: 'cpu', namespace: 'AWS/EC2', metric: 'CPUUtilization', stat: 'Average', above: 85, windowSeconds: 600, datapointsToAlarm: 10, missingData: 'missing' },
    { alarm: 'memory', namespace: 'CWAgent', metric: 'mem_used_percent', stat: 'Average', above: 90, windowSeconds: 600, datapointsToAlarm: 10, missingData: 'missing' },
    { alarm: 'latencyP99', ...appMetric(METRICS.httpLatency), stat: 'p99', above: 2, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'errorRate', ratio: [METRICS.http5xx, METRICS.httpRequests], above: 5, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'modelFailureRate', ratio: [METRICS.modelFailures, METRICS.modelCalls], above: 10, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'modelKeyExpiry', ...appMetric(METRICS.modelKeyDaysToExpiry), stat: 'Minimum', below: 7, windowSeconds: 300, missingData: 'notBreaching' },
    { alarm: 'disk', namespace: 'CWAgent', metric: 'disk_used_percent', stat: 'Average', above: 80, windowSeconds: 300, missingData: 'missing' },
    { alarm: 'heartbeat', ...appMetric(METRICS.activeSessions), stat: 'SampleCount', below: 1, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'breaching' },
    { alarm: 'systemRecovery', namespace: 'AWS/EC2', metric: 'StatusCheckFailed_System', stat: 'Maximum', atLeast: 1, windowSeconds: 120, missingData: 'missing' },
  ];

  it.each(table)('$alarm: metric, threshold, window, missing data and action', (row) => {
    for (const [, simulation] of stacks()) {
      const alarm = inputs(only(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm', `clawdbot-${simulation.stack}-${row.alarm}`));
      if (row.ratio) {
        const [failures, total] = row.ratio;
        const queries = alarm.metricQueries as any[];
        expect(queries.find((q) => q.id === 'failures').metric).toMatchObject({ namespace: CLOUDWATCH_NAMESPACE, metricName: failures, stat: 'Sum' });
        expect(queries.find((q) => q.id === 'total').metric).toMatchObject({ namespace: CLOUDWATCH_NAMESPACE, metricName: total, stat: 'Sum' });
        expect(queries.find((q) => q.returnData).expression).toBe('IF(total > 0, 100 * FILL(failures, 0) / total, 0)');
        expect(queries[0].metric.period * alarm.evaluationPeriods).toBe(row.windowSeconds);
      } else {
        expect(alarm).toMatchObject({ namespace: row.namespace, metricName: row.metric });
        expect(alarm.extendedStatistic ?? alarm.statistic).toBe(row.stat);
        expect(alarm.period * alarm.evaluationPeriods).toBe(row.windowSeconds);
      }
      if (row.above !== undefined) expect(alarm).toMatchObject({ comparisonOperator: 'GreaterThanThreshold', threshold: row.above });
      if (row.below !== undefined) expect(alarm).toMatchObject({ comparisonOperator: 'LessThanThreshold', threshold: row.below });
      if (row.atLeast !== undefined) expect(alarm).toMatchObject({ comparisonOperator: 'GreaterThanOrEqualToThreshold', threshold: row.atLeast });
      expect(alarm.alarmActions).toEqual(row.alarm === 'systemRecovery' ? [recover, alarmTopicArn(simulation)] : [alarmTopicArn(simulation)]);
      expect(alarm.okActions).toEqual([alarmTopicArn(simulation)]);
      expect(alarm.datapointsToAlarm).toBe(row.datapointsToAlarm);
      expect(alarm.treatMissingData).toBe(row.missingData);
    }
  });

  it('are exactly the table, and the health check\'s', () => {
    for (const [, simulation] of stacks()) {
      expect(ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((r) => r.name).sort()).toEqual(
        [...table.map((row) => row.alarm), 'health'].map((alarm) => `clawdbot-${simulation.stack}-${alarm}`).sort(),
      );
    }
  });

  const healthAlarm = (simulation: Simulation) => only(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm', `clawdbot-${simulation.stack}-health`);
  const providerRegion = (simulation: Simulation, resource: SimulatedResource) =>
    inputs(simulation.resources.find((r) => `${r.urn}::${r.name}-id` === resource.provider)!).region;

  it('check /health from outside: HTTPS on the DNS name, or the gateway port on the Elastic IP, for exactly the healthy body', () => {
    expect(inputs(only(prod, 'aws:route53/healthCheck:HealthCheck'))).toMatchObject({
      type: 'HTTPS_STR_MATCH',
      fqdn: 'bot.example.com',
      port: PORTS.https,
      resourcePath: '/health',
      searchString: '{"status":"healthy"}',
    });
    expect(inputs(only(dev, 'aws:route53/healthCheck:HealthCheck'))).toMatchObject({
      type: 'HTTP_STR_MATCH',
      ipAddress: dev.outputs.publicIp,
      port: PORTS.gateway,
      resourcePath: '/health',
    });
  });

  it('page when the health check fails or reports nothing, from us-east-1 where Route53 publishes its metrics, through a topic there', () => {
    for (const [, simulation] of stacks()) {
      const alarm = healthAlarm(simulation);
      const check = only(simulation, 'aws:route53/healthCheck:HealthCheck');
      expect(inputs(alarm)).toMatchObject({
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensions: { HealthCheckId: `${check.name}-id` },
        statistic: 'Minimum',
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        treatMissingData: 'breaching',
      });
      expect(providerRegion(simulation, alarm)).toBe('us-east-1');
      const topic = only(simulation, 'aws:sns/topic:Topic', `clawdbot-${simulation.stack}-health-alarms`);
      expect(providerRegion(simulation, topic)).toBe('us-east-1');
      expect(inputs(alarm).alarmActions).toEqual([`arn:aws:sns:us-east-1:123456789012:${topic.name}`]);
    }
  });

  it('in a us-east-1 stack, page through the stack\'s own topic', async () => {
    const east = await simulate('dev', { config: { 'aws:region': 'us-east-1' } });
    expect(ofType(east, 'aws:sns/topic:Topic')).toHaveLength(1);
    expect(inputs(healthAlarm(east)).alarmActions).toEqual([east.outputs.alarmTopicArn]);
  });

  it('go to topics encrypted with keys that CloudWatch of this account may use', () => {
    for (const [, simulation] of stacks()) {
      for (const topic of ofType(simulation, 'aws:sns/topic:Topic')) {
        const key = only(simulation, 'aws:kms/key:Key', topic.name);
        expect(inputs(topic).kmsMasterKeyId).toMatch(/^arn:aws:kms:/);
        expect(inputs(topic).kmsMasterKeyId).toContain(`:key/`);
        expect(providerRegion(simulation, key)).toBe(providerRegion(simulation, topic));
        const statements = JSON.parse(inputs(key).policy).Statement;
        expect(statements).toContainEqual(
          expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } }),
        );
      }
    }
  });

  it('watch exactly the app metrics, with the dimensions, that the host agent publishes', () => {
    for (const [, simulation] of stacks()) {
      const agent = JSON.parse(fileIn(simulation, '/etc/clawdbot/cloudwatch-agent.json'));
      const declarations = agent.logs.metrics_collected.prometheus.emf_processor.metric_declaration as any[];
      const published = new Map<string, string[]>();
      for (const declaration of declarations) {
        for (const selector of declaration.metric_selectors) published.set(selector.replace(/^\^|\$$/g, ''), declaration.dimensions[0]);
      }
      const watched = new Map<string, string[]>();
      for (const alarm of ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm').map(inputs)) {
        const metrics = alarm.metricQueries ? alarm.metricQueries.filter((q: any) => q.metric).map((q: any) => q.metric) : [alarm];
        for (const metric of metrics) {
          if (metric.namespace === CLOUDWATCH_NAMESPACE) watched.set(metric.metricName, Object.keys(metric.dimensions).sort());
          if (metric.namespace === CLOUDWATCH_NAMESPACE) expect(metric.dimensions.Stack).toBe(simulation.stack);
        }
      }
      expect(new Map([...published].map(([name, dims]) => [name, [...dims].sort()]))).toEqual(watched);
      expect(agent.logs.metrics_collected.prometheus.emf_processor.metric_namespace).toBe(CLOUDWATCH_NAMESPACE);

      const disk = inputs(only(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm', `clawdbot-${simulation.stack}-disk`));
      expect(disk.dimensions).toEqual({ InstanceId: simulation.outputs.instanceId, path: '/', fstype: 'ext4' });
      expect(agent.metrics.metrics_collected.disk).toEqual({ measurement: ['used_percent'], resources: ['/'], drop_device: true });
      expect(agent.metrics.metrics_collected.mem.measurement).toEqual(['mem_used_percent']);
      expect(agent.agent.omit_hostname).toBe(true);
    }
  });

  it('mail every alarm topic when alarmEmail is set', () => {
    const subscriptions = ofType(prod, 'aws:sns/topicSubscription:TopicSubscription').map(inputs);
    expect(subscriptions.map((subscription) => subscription.topic).sort()).toEqual(ofType(prod, 'aws:sns/topic:Topic').map((topic) => `arn:aws:sns:${providerRegion(prod, topic)}:123456789012:${topic.name}`).sort());
    for (const subscription of subscriptions) expect(subscription).toMatchObject({ protocol: 'email', endpoint: 'ops@example.com' });
    expect(ofType(dev, 'aws:sns/topicSubscription:TopicSubscription')).toEqual([]);
  });

  it('all appear on the dashboard', () => {
    for (const [, simulation] of stacks()) {
      const body = JSON.parse(inputs(only(simulation, 'aws:cloudwatch/dashboard:Dashboard')).dashboardBody);
      const shown = body.widgets.flatMap((widget: any) => [...(widget.properties.alarms ?? []), ...(widget.properties.annotations?.alarms ?? [])]);
      const alarmArns = ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm').map(
        (r) => `arn:aws:cloudwatch:${providerRegion(simulation, r)}:123456789012:alarm:${inputs(r).name}`,
      );
      expect(new Set(shown)).toEqual(new Set(alarmArns));
      expect(body.widgets.filter((widget: any) => widget.properties.annotations?.alarms)).toHaveLength(alarmArns.length);
    }
  });
});

describe('DNS', () => {
  it('points <hostName>.<domain> at the host with a CNAME in the zone looked up by name', () => {
    const record = inputs(only(prod, 'aws:route53/record:Record'));
    const zoneLookup = prod.calls.find((call) => call.token === 'aws:route53/getZone:getZone')!;
    expect(zoneLookup.inputs).toMatchObject({ name: 'example.com', privateZone: false });
    expect(record).toEqual({
      zoneId: expect.stringMatching(/^Z[0-9A-F]+$/),
      name: 'bot.example.com',
      type: 'CNAME',
      ttl: 300,
      records: ['ec2-203-0-113-10.ap-southeast-1.compute.amazonaws.com'],
      allowOverwrite: true,
    });
    expect(prod.outputs.publicUrl).toBe('https://bot.example.com');
  });

  it('is skipped without a domain', () => {
    expect(ofType(dev, 'aws:route53/record:Record')).toEqual([]);
    expect(dev.calls.map((call) => call.token)).not.toContain('aws:route53/getZone:getZone');
    expect(dev.outputs.publicUrl).toBe(`http://203.0.113.10:${PORTS.gateway}`);
  });

  it('takes its TTL and host name from config', async () => {
    const custom = await simulate('prod', { config: { hostName: 'chat', dnsTtl: 60 } });
    expect(inputs(only(custom, 'aws:route53/record:Record'))).toMatchObject({ name: 'chat.example.com', ttl: 60 });
  });
});

describe('backups', () => {
  it('keep the bucket versioned, private, TLS-only and encrypted', () => {
    for (const [, simulation] of stacks()) {
      expect(inputs(only(simulation, 'aws:s3/bucketVersioning:BucketVersioning', `clawdbot-${simulation.stack}-backups`)).versioningConfiguration).toEqual({ status: 'Enabled' });
      expect(inputs(only(simulation, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', `clawdbot-${simulation.stack}-backups`))).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const bucketArn = `arn:aws:s3:::${simulation.outputs.backupBucketName}`;
      expect(inputs(only(simulation, 'aws:s3/bucketPolicy:BucketPolicy', `clawdbot-${simulation.stack}-backups`)).policy.Statement).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [bucketArn, `${bucketArn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]);
    }
    expect(inputs(only(dev, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', `clawdbot-${dev.stack}-backups`)).rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
    ]);
    const key = only(prod, 'aws:kms/key:Key', 'clawdbot-prod-backups');
    expect(inputs(key).enableKeyRotation).toBe(true);
    expect(inputs(only(prod, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', `clawdbot-${prod.stack}-backups`)).rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: expect.stringMatching(/^arn:aws:kms:/) }, bucketKeyEnabled: true },
    ]);
  });

  it('move to a cheaper class after 30 days and expire old versions after backupRetentionDays', () => {
    for (const [, simulation, days] of [...stacks().map(([name, s]) => [name, s, name === 'dev' ? 7 : 90] as const)]) {
      const rules = inputs(only(simulation, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration', `clawdbot-${simulation.stack}-backups`)).rules as any[];
      const main = rules.find((rule) => rule.transitions);
      expect(main).toMatchObject({ status: 'Enabled', transitions: [{ days: 30, storageClass: 'STANDARD_IA' }], noncurrentVersionExpiration: { noncurrentDays: days } });
    }
  });

  it('configure the new bucket one call at a time, versioning before the lifecycle rules', () => {
    for (const [, simulation] of stacks()) {
      const waits = (resource: SimulatedResource, other: SimulatedResource) => waitsFor(simulation, resource, other);
      const bucket = only(simulation, 'aws:s3/bucket:Bucket', `clawdbot-${simulation.stack}-backups`);
      const settings = simulation.resources.filter((r) => r.type.startsWith('aws:s3/bucket') && r !== bucket && inputs(r).bucket === `${bucket.name}-id`);
      const replication = simulation.stack === 'prod' ? ['aws:s3/bucketReplicationConfig:BucketReplicationConfig'] : [];
      expect(settings.map((r) => r.type).sort()).toEqual([...BUCKET_SETTINGS, ...replication].sort());
      // Any two settings are ordered one way or the other: none can run beside another.
      for (const a of settings) {
        expect(waits(a, bucket)).toBe(true);
        for (const b of settings.filter((other) => other !== a)) {
          expect({ pair: [a.type, b.type], ordered: waits(a, b) !== waits(b, a) }).toEqual({ pair: [a.type, b.type], ordered: true });
        }
      }
      const lifecycle = only(simulation, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration', `clawdbot-${simulation.stack}-backups`);
      expect(waits(lifecycle, only(simulation, 'aws:s3/bucketVersioning:BucketVersioning', `clawdbot-${simulation.stack}-backups`))).toBe(true);
    }
  });

  it('are protected and outlive the stack in prod only', () => {
    const bucket = (simulation: Simulation) => only(simulation, 'aws:s3/bucket:Bucket', `clawdbot-${simulation.stack}-backups`);
    expect(bucket(prod)).toMatchObject({ protect: true, retainOnDelete: true });
    expect(only(prod, 'aws:kms/key:Key', 'clawdbot-prod-backups')).toMatchObject({ protect: true, retainOnDelete: true });
    expect(bucket(dev)).toMatchObject({ protect: false, retainOnDelete: false });
    expect(inputs(bucket(dev)).forceDestroy).toBe(true);
  });

  it('snapshot the data volume daily and keep 7', () => {
    for (const [, simulation] of stacks()) {
      const policy = inputs(only(simulation, 'aws:dlm/lifecyclePolicy:LifecyclePolicy')).policyDetails;
      expect(policy.resourceTypes).toEqual(['VOLUME']);
      expect(policy.schedules).toEqual([expect.objectContaining({ createRule: { interval: 24, intervalUnit: 'HOURS', times: '03:00' }, retainRule: { count: 7 } })]);
      expect(inputs(only(simulation, 'aws:ebs/volume:Volume')).tags).toMatchObject(policy.targetTags);
    }
  });
});

describe('deployment', () => {
  const step = (simulation: Simulation, name: string) => named(simulation, `clawdbot-${simulation.stack}-${name}`);
  const commandsOf = (simulation: Simulation) => simulation.resources.filter((r) => r.type.startsWith('command:'));
  const instanceId = (simulation: Simulation) => simulation.outputs.instanceId as string;

  it('builds the image for the instance\'s CPU, locally on the SSH path', async () => {
    for (const [, simulation] of stacks()) {
      expect(inputs(only(simulation, 'docker:index/image:Image'))).toMatchObject({
        build: { context: '.', dockerfile: 'app/Dockerfile', platform: 'linux/arm64' },
        skipPush: true,
      });
      expect(inputs(step(simulation, 'readiness')).create).toContain("PLATFORM='linux/arm64'\nMACHINE='aarch64'");
    }
    const intel = await simulate('dev', { config: { instanceType: 't3.medium', baseImage: 'registry.example.cn/library/node:22-bookworm-slim' } });
    expect(inputs(only(intel, 'docker:index/image:Image')).build).toMatchObject({ platform: 'linux/amd64', args: { BASE_IMAGE: 'registry.example.cn/library/node:22-bookworm-slim' } });
    expect(inputs(step(intel, 'readiness')).create).toContain("MACHINE='x86_64'");
  });

  it('logs in through the SSM tunnel as ubuntu, pinned to the host key read over SSM, with the deploy key as a secret', () => {
    for (const [, simulation] of stacks()) {
      const hostKey = named(simulation, `clawdbot-${simulation.stack}-host-key`);
      expect(inputs(hostKey)).toMatchObject({ create: 'npx tsx components/scripts/read-host-key.ts', environment: { CLAWDBOT_INSTANCE_ID: `clawdbot-${simulation.stack}-host-id`, AWS_REGION: 'ap-southeast-1' } });
      expect(strings(hostKey.inputs.triggers)).toEqual([`clawdbot-${simulation.stack}-host-id`]);
      for (const command of simulation.resources.filter((r) => r.inputs.connection !== undefined)) {
        expect({ step: command.name, connection: inputs(command).connection }).toEqual({
          step: command.name,
          connection: expect.objectContaining({ host: '127.0.0.1', port: SSM_TUNNEL_PORT, user: SSH_USER, hostKey: PLACEHOLDER_HOST_KEY, privateKey: simulation.config['clawdbot:sshPrivateKey'] }),
        });
        const connection = command.inputs.connection as Record<string, unknown>;
        expect(isSecretValue(connection) || isSecretValue(connection.privateKey)).toBe(true);
      }
    }
  });

  it('waits for the host first, for a bounded time with an error that says what to check, then cloud-init and Docker', () => {
    for (const [, simulation] of stacks()) {
      const reach = step(simulation, 'reach-host');
      expect(inputs(reach).create).toBe('npx tsx components/scripts/reach-host.ts');
      expect(inputs(reach).environment).toMatchObject({ CLAWDBOT_SSH_HOST: '127.0.0.1', CLAWDBOT_SSH_PORT: String(SSM_TUNNEL_PORT), CLAWDBOT_SSH_HOST_KEY: PLACEHOLDER_HOST_KEY });
      expect(inputs(reach).environment.CLAWDBOT_SSH_UNREACHABLE_HINT).toContain(`npx tsx infra/ssm-tunnel.ts ${simulation.stack}`);
      expect(reach.customTimeouts).toEqual({ create: '40m' });
      const readiness = step(simulation, 'readiness');
      expect(waitsFor(simulation, readiness, reach)).toBe(true);
      // The provider's own retries stay bounded (its default 10), never -1.
      expect(inputs(readiness).connection.dialErrorLimit).toBeGreaterThan(0);
      expect(inputs(readiness).create).toMatch(/cloud-init status --wait[\s\S]*docker_cli info/);
      // After the instance, its host key and its address (which the tunnel follows) exist.
      expect(waitsFor(simulation, reach, named(simulation, `clawdbot-${simulation.stack}-host-key`))).toBe(true);
      expect(waitsFor(simulation, reach, only(simulation, 'aws:ec2/eip:Eip'))).toBe(true);
      // The whole host and backups: dependsOn on a component waits for all its resources.
      const deployment = only(simulation, 'clawdbot:deployment:Deployment');
      expect(deployment.dependencies).toEqual(expect.arrayContaining([only(simulation, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${simulation.stack}-host`).urn, only(simulation, 'aws:s3/bucketPolicy:BucketPolicy', `clawdbot-${simulation.stack}-backups`).urn]));
    }
  });

  it('ships the image (probe, save, CopyToRemote, load) and the config files (CopyToRemote), then activates', () => {
    for (const [, simulation] of stacks()) {
      const order: [string, string][] = [
        ['probe-image', 'readiness'],
        ['save-image', 'probe-image'],
        ['ship-image', 'save-image'],
        ['load-image', 'ship-image'],
        ['activate', 'load-image'],
        ['activate', 'config-compose-yaml'],
        ['activate', 'config-caddyfile'],
        ['activate', 'env-file'],
        ['activate', 'restore-on-boot'],
        ['restore-on-boot', 'host-tools'],
        ['host-tools', 'readiness'],
      ];
      for (const [later, earlier] of order) {
        expect({ later, earlier, waits: waitsFor(simulation, step(simulation, later), step(simulation, earlier)) }).toEqual({ later, earlier, waits: true });
      }
      expect(waitsFor(simulation, step(simulation, 'probe-image'), only(simulation, 'docker:index/image:Image'))).toBe(true);
      for (const name of ['ship-image', 'config-compose-yaml', 'config-caddyfile']) expect(step(simulation, name).type).toBe('command:remote:CopyToRemote');
      expect(inputs(step(simulation, 'config-caddyfile')).source).toMatchObject({ path: 'app/Caddyfile' });
      expect(inputs(step(simulation, 'config-compose-yaml')).remotePath).toMatch(new RegExp(`^${HOST_PATHS.releases}/r[0-9a-f]{12}/compose\\.yaml$`));
      expect(inputs(step(simulation, 'load-image')).create).toContain('docker load');
      expect(inputs(step(simulation, 'activate')).create).toContain('activate_release "$RELEASE"');
    }
  });

  it('writes the env file through stdin only, logging nothing, its output secret', () => {
    for (const [, simulation] of stacks()) {
      const envFile = step(simulation, 'env-file');
      expect(isSecretValue(envFile.inputs.stdin)).toBe(true);
      expect(inputs(envFile).stdin).toContain(`CLAWDBOT_API_KEYS=${reveal(simulation.outputs.gatewayApiKey)}\n`);
      expect(inputs(envFile)).toMatchObject({ logging: 'none', addPreviousOutputInEnv: false });
      expect(envFile.additionalSecretOutputs).toEqual(expect.arrayContaining(['stdout', 'stderr']));
    }
  });

  it('puts no secret in the text of any command', () => {
    for (const [, simulation] of stacks()) {
      const secrets = [...new Set([...Object.entries(simulation.config).filter(([key]) => /ApiKey|Secret|Token|AesKey|EncryptKey|PrivateKey/.test(key)).map(([, value]) => value), ...strings(only(simulation, 'clawdbot:secrets:Secrets').outputs)])].filter(
        (value) => value.length >= 16,
      );
      expect(secrets).toContain(simulation.config['clawdbot:sshPrivateKey']);
      for (const command of commandsOf(simulation)) {
        const text = strings([command.inputs.create, command.inputs.update, command.inputs.delete]).join('\n');
        for (const secret of secrets) expect({ step: command.name, leaks: text.includes(secret) }).toEqual({ step: command.name, leaks: false });
      }
    }
  });

  it('re-runs a step only when its image, release, env file or host changed; the host id is in every trigger', () => {
    for (const [, simulation] of stacks()) {
      for (const command of commandsOf(simulation)) {
        expect({ step: command.name, triggers: strings(command.inputs.triggers) }).toEqual({ step: command.name, triggers: expect.arrayContaining([instanceId(simulation)]) });
      }
      for (const name of ['probe-image', 'save-image', 'ship-image', 'load-image', 'activate']) {
        expect(strings(step(simulation, name).inputs.triggers)).toEqual(expect.arrayContaining([expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]));
      }
    }
  });

  it('on a replaced instance (`pulumi up --replace`, new user data) runs readiness, the restore on boot, the shipping and the activation again', async () => {
    const replaced = await simulate('dev', { replaced: ['clawdbot-dev-host'] });
    expect(instanceId(replaced)).toBe('clawdbot-dev-host-id-replacement');
    for (const name of ['readiness', 'host-tools', 'restore-on-boot', 'probe-image', 'save-image', 'ship-image', 'load-image', 'config-compose-yaml', 'config-caddyfile', 'env-file', 'activate', 'teardown']) {
      const [before, after] = [step(dev, name), step(replaced, name)];
      expect({ name, changed: JSON.stringify(inputs(after)) !== JSON.stringify(inputs(before)) }).toEqual({ name, changed: true });
      expect(strings(after.inputs.triggers)).toContain('clawdbot-dev-host-id-replacement');
    }
    // A fresh image tag for the new host, so that a fresh CI runner builds what the save step needs.
    expect(inputs(only(replaced, 'docker:index/image:Image')).imageName).not.toBe(inputs(only(dev, 'docker:index/image:Image')).imageName);
    // The new host is marked as this deployment's; the old teardown, if it reaches the moved address, leaves it alone.
    expect(inputs(step(replaced, 'host-tools')).create).toContain("HOST_ID='clawdbot-dev-host-id-replacement'");
  });

  it('is torn down with the host: no deletion step runs when the host goes too', () => {
    for (const [, simulation] of stacks()) expect(step(simulation, 'teardown').deletedWith).toBe(only(simulation, 'clawdbot:host:Host').urn);
  });

  it('serves the domain over HTTPS through Caddy, or the IP on 18789, and keeps keepReleases releases', async () => {
    expect(inputs(step(prod, 'activate')).create).toContain("DOMAIN='bot.example.com'");
    expect(inputs(step(dev, 'activate')).create).toContain("DOMAIN='localhost'");
    const custom = await simulate('dev', { config: { keepReleases: 3, caddyImage: 'mirror.example.cn/library/caddy:2.10-alpine', redisImage: 'mirror.example.cn/library/redis:7.4-alpine' } });
    expect(inputs(step(custom, 'activate')).create).toContain("KEEP_RELEASES='3'");
    expect(inputs(step(custom, 'activate')).create).toContain("CADDY_IMAGE='mirror.example.cn/library/caddy:2.10-alpine'\nREDIS_IMAGE='mirror.example.cn/library/redis:7.4-alpine'");
    expect(custom.outputs.rollbackTarget).toMatchObject({ keepReleases: 3 });
  });

  it('gives npm run rollback its target and the live release as outputs, without secrets', () => {
    for (const [, simulation] of stacks()) {
      expect(simulation.outputs.rollbackTarget).toEqual({ host: '127.0.0.1', port: SSM_TUNNEL_PORT, user: SSH_USER, hostKey: PLACEHOLDER_HOST_KEY, keepReleases: 5, healthTimeoutSeconds: 120 });
      expect(simulation.outputs.release).toMatch(/^r[0-9a-f]{12}$/);
    }
  });

  it('through ECR: a repository the host role pulls from, and no copying', async () => {
    const simulation = await simulate('dev', { config: { imageTransport: 'ecr' } });
    expect(inputs(only(simulation, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment', 'clawdbot-dev-image-pull')).role).toBe(only(simulation, 'clawdbot:host:Host').outputs.roleName);
    expect(inputs(only(simulation, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment', 'clawdbot-dev-image-pull')).policyArn).toMatch(/AmazonEC2ContainerRegistryReadOnly$/);
    expect(simulation.resources.map((r) => r.name)).not.toContain('clawdbot-dev-ship-image');
    expect(inputs(step(simulation, 'pull-image')).create).toContain(`AWS_REGION='ap-southeast-1'`);
    expect(inputs(only(simulation, 'docker:index/image:Image')).imageName).toMatch(/\.dkr\.ecr\.ap-southeast-1\.amazonaws\.com\/clawdbot-dev-image:latest$/);
  });
});

describe('a second region for disaster recovery', () => {
  const providerRegion = (simulation: Simulation, resource: SimulatedResource) =>
    inputs(simulation.resources.find((r) => `${r.urn}::${r.name}-id` === resource.provider)!).region;

  it('prod replicates every backup version, deletions included, to a bucket under its own KMS key in backupReplicaRegion', () => {
    const replica = only(prod, 'aws:s3/bucket:Bucket', 'clawdbot-prod-replica');
    const replicaKey = only(prod, 'aws:kms/key:Key', 'clawdbot-prod-replica');
    expect(providerRegion(prod, replica)).toBe('ap-northeast-1');
    expect(providerRegion(prod, replicaKey)).toBe('ap-northeast-1');
    expect(replica).toMatchObject({ protect: true, retainOnDelete: true });
    expect(inputs(only(prod, 'aws:s3/bucketVersioning:BucketVersioning', 'clawdbot-prod-replica')).versioningConfiguration).toEqual({ status: 'Enabled' });
    const rules = inputs(only(prod, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'clawdbot-prod-replica')).rules;
    expect(rules[0].applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: 'aws:kms', kmsMasterKeyId: expect.stringContaining(`arn:aws:kms:ap-northeast-1:123456789012:key/`) });

    const replication = only(prod, 'aws:s3/bucketReplicationConfig:BucketReplicationConfig', `clawdbot-${prod.stack}-backups`);
    const primary = only(prod, 'aws:s3/bucket:Bucket', 'clawdbot-prod-backups');
    expect(providerRegion(prod, replication)).toBe('ap-southeast-1');
    expect(inputs(replication).bucket).toBe(`${primary.name}-id`);
    expect(inputs(replication).rules).toEqual([
      expect.objectContaining({
        status: 'Enabled',
        deleteMarkerReplication: { status: 'Enabled' },
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
        destination: { bucket: `arn:aws:s3:::${prod.outputs.backupReplicaBucketName}`, encryptionConfiguration: { replicaKmsKeyId: expect.stringContaining('arn:aws:kms:ap-northeast-1:') } },
      }),
    ]);
    // S3 refuses replication until both buckets are versioned.
    for (const name of ['clawdbot-prod-backups', 'clawdbot-prod-replica']) {
      expect(waitsFor(prod, replication, only(prod, 'aws:s3/bucketVersioning:BucketVersioning', name))).toBe(true);
    }
    const statements = inputs(only(prod, 'aws:iam/rolePolicy:RolePolicy', 'clawdbot-prod-replication')).policy.Statement as any[];
    expect(statements.map((statement) => statement.Sid)).toEqual(['ReadSourceConfiguration', 'ReadSourceVersions', 'WriteReplica', 'DecryptSource', 'EncryptReplica']);
  });

  it('prod copies every daily snapshot, encrypted, to backupReplicaRegion; dev has no replica', () => {
    const schedule = inputs(only(prod, 'aws:dlm/lifecyclePolicy:LifecyclePolicy')).policyDetails.schedules[0];
    expect(schedule.crossRegionCopyRules).toEqual([{ target: 'ap-northeast-1', encrypted: true, copyTags: true, retainRule: { interval: 7, intervalUnit: 'DAYS' } }]);
    expect(inputs(only(dev, 'aws:dlm/lifecyclePolicy:LifecyclePolicy')).policyDetails.schedules[0].crossRegionCopyRules).toBeUndefined();
    expect(ofType(dev, 'aws:s3/bucketReplicationConfig:BucketReplicationConfig')).toEqual([]);
    expect(dev.outputs.backupReplicaBucketName).toBeUndefined();
  });

  it('lets a rebuilt stack take the DNS name over from the one it replaces', () => {
    expect(inputs(only(prod, 'aws:route53/record:Record')).allowOverwrite).toBe(true);
  });

  it('rebuilds in the replica region from the replica: the new host restores from there, read-only, and replicates back elsewhere', async () => {
    const replicaBucket = prod.outputs.backupReplicaBucketName as string;
    const rebuilt = await simulate('prod', {
      config: {
        'aws:region': 'ap-northeast-1',
        backupReplicaRegion: 'ap-southeast-2',
        restoreFromBucket: replicaBucket,
        restoreFromPrefix: 'clawdbot-prod',
        restoreFromRegion: 'ap-northeast-1',
      },
    });
    expect(inputs(named(rebuilt, 'clawdbot-prod-backup-settings')).stdin).toContain(`RESTORE_BUCKET=${replicaBucket}\nRESTORE_PREFIX=clawdbot-prod\nRESTORE_REGION=ap-northeast-1\n`);
    const statements = inputs(only(rebuilt, 'aws:iam/rolePolicy:RolePolicy', 'clawdbot-prod-host')).policy.Statement as any[];
    expect(statements.find((statement) => statement.Sid === 'ReadRestoreSource')).toMatchObject({ Action: 's3:GetObject', Resource: `arn:aws:s3:::${replicaBucket}/clawdbot-prod/*` });
    expect(inputs(named(rebuilt, 'clawdbot-prod-restore-on-boot')).create).toContain("RESTORE_ON_BOOT='latest'");
    expect(inputs(only(rebuilt, 'aws:route53/record:Record')).allowOverwrite).toBe(true);
  });
});

describe('restore on boot and disaster recovery', () => {
  const restoreStep = (simulation: Simulation) => inputs(named(simulation, `clawdbot-${simulation.stack}-restore-on-boot`)).create as string;

  it('a fresh host restores the newest backup before the bot starts, unless told none or a key', async () => {
    for (const [, simulation] of stacks()) expect(restoreStep(simulation)).toContain("RESTORE_ON_BOOT='latest'");
    expect(restoreStep(await simulate('dev', { config: { restoreOnBoot: 'none' } }))).toContain("RESTORE_ON_BOOT='none'");
  });

  it('a new stack reads a lost stack\'s backups, in another bucket and region, and may only read them', async () => {
    const simulation = await simulate('prod', { config: { restoreFromBucket: 'clawdbot-old-backups', restoreFromPrefix: 'clawdbot-prod', restoreFromRegion: 'ap-northeast-1' } });
    expect(backupEnvOf(simulation)).toContain('RESTORE_BUCKET=clawdbot-old-backups\nRESTORE_PREFIX=clawdbot-prod\nRESTORE_REGION=ap-northeast-1\n');
    const statements = inputs(only(simulation, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${simulation.stack}-host`)).policy.Statement as any[];
    const sid = (name: string) => statements.find((statement) => statement.Sid === name);
    expect(sid('ListRestoreSource')).toMatchObject({ Action: 's3:ListBucket', Resource: 'arn:aws:s3:::clawdbot-old-backups', Condition: { StringLike: { 's3:prefix': ['clawdbot-prod/*'] } } });
    expect(sid('ReadRestoreSource')).toMatchObject({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::clawdbot-old-backups/clawdbot-prod/*' });
    expect(sid('DecryptRestoreSource')).toMatchObject({ Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 's3.ap-northeast-1.amazonaws.com' } } });
    // Writes stay under its own prefix.
    const writers = statements.filter((statement) => [statement.Action].flat().some((action: string) => /^s3:(Put|Delete)/.test(action)));
    expect(writers.map((statement) => statement.Resource)).toEqual([`arn:aws:s3:::${simulation.outputs.backupBucketName}/clawdbot-prod/*`]);
  });

  it('without a restore source, the host reads and writes its own prefix only', () => {
    for (const [, simulation] of stacks()) {
      const sids = (inputs(only(simulation, 'aws:iam/rolePolicy:RolePolicy', `clawdbot-${simulation.stack}-host`)).policy.Statement as any[]).map((statement) => statement.Sid);
      expect(sids.filter((name: string) => /Restore/.test(name))).toEqual([]);
      expect(backupEnvOf(simulation)).not.toContain('RESTORE_');
    }
  });
});

describe('target ssh: a machine of yours', () => {
  const machineHostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMachineHostKeyForTheTestsxxxxxxxxxxxxxx';
  const machine = { target: 'ssh', targetHost: 'nas.home.example', targetPort: 2200, targetUser: 'deploy', targetArchitecture: 'arm64', targetHostKey: machineHostKey };

  it('creates no AWS resource, not even a provider, without backups', async () => {
    const simulation = await simulate('dev', { config: machine });
    expect(simulation.resources.filter((r) => r.type.startsWith('aws:') || r.type === 'pulumi:providers:aws')).toEqual([]);
    expect(simulation.calls).toEqual([]);
    expect(simulation.resources.filter((r) => r.type.startsWith('clawdbot:')).map((r) => r.type).sort()).toEqual(['clawdbot:deployment:Deployment', 'clawdbot:secrets:Secrets']);
  });

  it('gets the same deployment: its address, port, user and CPU, its own host id', async () => {
    const simulation = await simulate('prod', { config: machine });
    const readiness = named(simulation, 'clawdbot-prod-readiness');
    expect(inputs(readiness).connection).toMatchObject({ host: 'nas.home.example', port: 2200, user: 'deploy', hostKey: machineHostKey });
    expect(inputs(named(simulation, 'clawdbot-prod-reach-host')).environment.CLAWDBOT_SSH_UNREACHABLE_HINT).toBe('Check that nas.home.example:2200 is reachable from this machine and that sshd runs there.');
    expect(inputs(readiness).create).toContain("MACHINE='aarch64'");
    expect(inputs(only(simulation, 'docker:index/image:Image')).build.platform).toBe('linux/arm64');
    expect(strings(named(simulation, 'clawdbot-prod-activate').inputs.triggers)).toContain('nas.home.example:2200');
    // The domain goes to Caddy; its DNS record is yours to keep.
    expect(inputs(named(simulation, 'clawdbot-prod-activate')).create).toContain("DOMAIN='bot.example.com'");
    expect(inputs(named(simulation, 'clawdbot-prod-restore-on-boot')).create).toContain("RESTORE_ON_BOOT='none'");
    expect(simulation.outputs).toMatchObject({
      publicUrl: 'https://bot.example.com',
      sshCommand: 'ssh -p 2200 deploy@bot.example.com',
      rollbackTarget: { host: 'nas.home.example', port: 2200, user: 'deploy', hostKey: machineHostKey, keepReleases: 5, healthTimeoutSeconds: 120 },
    });
    expect(simulation.outputs).not.toHaveProperty('instanceId');
    expect(named(simulation, 'clawdbot-prod-teardown').deletedWith).toBeUndefined();
  });

  it('with targetBackups, only the backups: a bucket and a user of its own whose key reaches the machine on stdin', async () => {
    const simulation = await simulate('dev', { config: { ...machine, targetBackups: true, backupSchedule: 'hourly' } });
    expect(simulation.resources.filter((r) => r.type.startsWith('aws:')).map((r) => r.type).sort()).toEqual([
      'aws:iam/accessKey:AccessKey',
      'aws:iam/user:User',
      'aws:iam/userPolicy:UserPolicy',
      'aws:s3/bucket:Bucket',
      ...BUCKET_SETTINGS,
    ]);
    const bucketArn = `arn:aws:s3:::${simulation.outputs.backupBucketName}`;
    expect(inputs(only(simulation, 'aws:iam/userPolicy:UserPolicy')).policy.Statement).toEqual([
      expect.objectContaining({ Sid: 'ListOwnBackups', Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['clawdbot-dev/*'] } } }),
      expect.objectContaining({ Sid: 'ReadWriteOwnBackups', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${bucketArn}/clawdbot-dev/*` }),
    ]);
    const accessKey = only(simulation, 'aws:iam/accessKey:AccessKey');
    expect(accessKey.additionalSecretOutputs).toContain('secret');

    const settings = named(simulation, 'clawdbot-dev-backup-settings');
    const secretKey = 'placeholder-secret-access-key-';
    expect(isSecretValue(settings.inputs.stdin)).toBe(true);
    expect(inputs(settings).stdin).toMatch(new RegExp(`^BACKUP_BUCKET=${simulation.outputs.backupBucketName}\\nBACKUP_PREFIX=clawdbot-dev/\\nBACKUP_RETENTION_DAYS=7\\nAWS_REGION=ap-southeast-1\\nAWS_ACCESS_KEY_ID=clawdbot-dev-host-id\\nAWS_SECRET_ACCESS_KEY=${secretKey}`));
    expect(inputs(settings)).toMatchObject({ logging: 'none' });
    for (const command of simulation.resources.filter((r) => r.type.startsWith('command:'))) {
      expect(strings([command.inputs.create, command.inputs.delete]).join('\n')).not.toContain(secretKey);
    }
    expect(inputs(named(simulation, 'clawdbot-dev-backup-timer')).create).toContain('\nOnCalendar=hourly\n');
    expect(inputs(named(simulation, 'clawdbot-dev-restore-on-boot')).create).toContain("RESTORE_ON_BOOT='latest'");
    expect(isSecretValue(only(simulation, 'clawdbot:backups:Backups').outputs.hostCredentials)).toBe(true);
  });
});

describe('provider constraints', () => {
  // Strings that the AWS provider (or the API behind it) validates only when it creates the
  // resource: a mismatch passes every mock and fails `pulumi up` halfway through.
  const SG_TEXT = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
  const DLM_NAME = /^[0-9A-Za-z _-]+$/;
  const constraints: { type: string; field: string; pattern: RegExp; values: (inputs: any) => string[] }[] = [
    { type: 'aws:dlm/lifecyclePolicy:LifecyclePolicy', field: 'description', pattern: DLM_NAME, values: (i) => [i.description] },
    { type: 'aws:dlm/lifecyclePolicy:LifecyclePolicy', field: 'schedule name', pattern: DLM_NAME, values: (i) => i.policyDetails.schedules.map((s: any) => s.name) },
    { type: 'aws:ec2/securityGroup:SecurityGroup', field: 'description', pattern: SG_TEXT, values: (i) => [i.description] },
    {
      type: 'aws:ec2/securityGroup:SecurityGroup',
      field: 'rule descriptions',
      pattern: SG_TEXT,
      values: (i) => [...i.ingress, ...i.egress].map((rule: any) => rule.description),
    },
    { type: 'aws:cloudwatch/metricAlarm:MetricAlarm', field: 'name', pattern: /^[^\x00-\x1f\x7f]{1,255}$/, values: (i) => [i.name] },
    { type: 'aws:cloudwatch/dashboard:Dashboard', field: 'dashboardName', pattern: /^[A-Za-z0-9_-]{1,255}$/, values: (i) => [i.dashboardName] },
    { type: 'aws:cloudwatch/logGroup:LogGroup', field: 'name', pattern: /^[.\-_/#A-Za-z0-9]{1,512}$/, values: (i) => [i.name] },
    { type: 'aws:kms/alias:Alias', field: 'name', pattern: /^alias\/[a-zA-Z0-9:/_-]{1,250}$/, values: (i) => [i.name] },
    { type: 'aws:iam/role:Role', field: 'description', pattern: /^[\t\n\r\x20-\x7e\xa1-\xff]{0,1000}$/, values: (i) => [i.description] },
  ];

  it.each(constraints)('$type $field uses only the characters AWS accepts', ({ type, pattern, values }) => {
    let checked = 0;
    for (const [, simulation] of stacks()) {
      for (const resource of ofType(simulation, type)) {
        for (const value of values(inputs(resource))) {
          expect({ resource: resource.name, value }).toEqual({ resource: resource.name, value: expect.stringMatching(pattern) });
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('structure', () => {
  /** The stack's own provider (the one in aws:region). */
  const provider = (simulation: Simulation) => only(simulation, 'pulumi:providers:aws', `clawdbot-${simulation.stack}`);

  it('puts every AWS resource under a clawdbot component, through a provider with the stack\'s settings and tags', () => {
    for (const [, simulation] of stacks()) {
      const providers = ofType(simulation, 'pulumi:providers:aws');
      const { region: _ownRegion, ...settings } = inputs(provider(simulation));
      // Another region's provider differs in its region only.
      for (const other of providers) {
        const { region: _region, ...otherSettings } = inputs(other);
        expect(otherSettings).toEqual(settings);
      }
      const providerRefs = providers.map((p) => `${p.urn}::${p.name}-id`);
      const awsResources = simulation.resources.filter((r) => r.type.startsWith('aws:'));
      expect(awsResources.length).toBeGreaterThan(25);
      for (const resource of awsResources) {
        const chain = ancestors(simulation, resource).map((parent) => parent.type);
        expect({ resource: resource.name, component: chain[0] }).toEqual({ resource: resource.name, component: expect.stringMatching(/^clawdbot:[a-z]+:[A-Z][A-Za-z]+$/) });
        expect({ resource: resource.name, provider: resource.provider }).toEqual({ resource: resource.name, provider: providerRefs.find((ref) => ref === resource.provider) ?? providerRefs[0] });
      }
      // The hosted-zone lookup included: it must see the account the record goes to.
      expect(simulation.calls.length).toBeGreaterThan(0);
      for (const call of simulation.calls) {
        expect({ call: call.token, provider: call.provider }).toEqual({ call: call.token, provider: providerRefs.find((ref) => ref === call.provider) ?? providerRefs[0] });
      }
    }
  });

  it('gives the provider the stack\'s aws:* settings, so resources and lookups use the credentials the operator configured', async () => {
    const assumeRoles = [{ roleArn: 'arn:aws:iam::123456789012:role/clawdbot-deploy', sessionName: 'pulumi' }];
    const simulation = await simulate('prod', {
      config: { 'aws:profile': 'clawdbot-prod', 'aws:assumeRoles': assumeRoles, 'aws:defaultTags': { tags: { CostCenter: 'bots' } } },
      secrets: { 'aws:accessKey': 'AKIAPLACEHOLDER0000', 'aws:secretKey': 'placeholder-aws-secret-key-value' },
    });
    const args = inputs(provider(simulation));
    expect(args).toMatchObject({ profile: 'clawdbot-prod', region: 'ap-southeast-1', accessKey: 'AKIAPLACEHOLDER0000' });
    expect(providerValue(args.assumeRoles)).toEqual(assumeRoles);
    expect(providerValue(args.defaultTags)).toEqual({ tags: { CostCenter: 'bots', Project: 'clawdbot', Stack: 'prod', ManagedBy: 'pulumi' } });
    expect(isSecretValue(provider(simulation).inputs.secretKey)).toBe(true);
    const zoneLookup = simulation.calls.find((call) => call.token === 'aws:route53/getZone:getZone')!;
    expect(zoneLookup.provider).toBe(`${provider(simulation).urn}::${provider(simulation).name}-id`);
  });

  it('has every component expose only outputs, each one registered with registerOutputs', async () => {
    // What each component instance registered, caught on the way to the engine.
    const registered: { type: string; component: Record<string, unknown>; outputs: Record<string, unknown> }[] = [];
    const prototype = pulumi.ComponentResource.prototype as unknown as { registerOutputs(outputs?: Record<string, unknown>): void };
    const registerOutputs = prototype.registerOutputs;
    const spy = jest.spyOn(prototype, 'registerOutputs').mockImplementation(function (this: Record<string, unknown>, outputs) {
      // The SDK calls it once more, without outputs, after construction; only the component's own call counts.
      if (outputs !== undefined) registered.push({ type: this.__pulumiType as string, component: this, outputs });
      registerOutputs.call(this, outputs);
    });
    let simulation: Simulation;
    try {
      simulation = await simulate('prod', { config: { dingtalkAppKey: 'dingappkey', feishuAppId: 'cli_0123456789abcdef' } });
    } finally {
      spy.mockRestore();
    }

    const components = registered.filter(({ type }) => type.startsWith('clawdbot:'));
    expect(components.map(({ type }) => type).sort()).toEqual(simulation.resources.filter((r) => r.type.startsWith('clawdbot:')).map((r) => r.type).sort());
    for (const { type, component, outputs } of components) {
      // Optional outputs this configuration does not have are left out.
      const fields = Object.entries(component).filter(([key, value]) => !key.startsWith('__') && key !== 'urn' && value !== undefined);
      expect({ type, plain: fields.filter(([, value]) => !pulumi.Output.isInstance(value)).map(([key]) => key) }).toEqual({ type, plain: [] });
      expect({ type, registered: Object.keys(outputs).filter((key) => outputs[key] !== undefined).sort() }).toEqual({ type, registered: fields.map(([key]) => key).sort() });
      for (const [key, value] of fields) expect({ type, key, same: outputs[key] === value }).toEqual({ type, key, same: true });
      // ...and each resolves to a value the engine records.
      const recorded = simulation.resources.find((r) => r.type === type)!.outputs;
      for (const [key] of fields) expect({ type, key, resolved: recorded[key] !== undefined }).toEqual({ type, key, resolved: true });
    }
  });

  it('looks the partition up once, for every component', () => {
    for (const [, simulation] of stacks()) {
      expect(simulation.calls.filter((call) => call.token === 'aws:index/getPartition:getPartition')).toHaveLength(1);
    }
  });

  it('tags everything with Project, Stack and ManagedBy through the provider', () => {
    for (const [name, simulation] of stacks()) {
      expect(providerValue(inputs(provider(simulation)).defaultTags)).toEqual({ tags: { Project: 'clawdbot', Stack: name, ManagedBy: 'pulumi' } });
      expect(inputs(provider(simulation)).region).toBe('ap-southeast-1');
    }
  });

  it('has one component per concern, each a direct child of the stack', () => {
    const components = (simulation: Simulation) => simulation.resources.filter((r) => r.type.startsWith('clawdbot:'));
    const stackUrn = (simulation: Simulation) => simulation.resources.find((r) => r.parent === undefined)!.urn;
    expect(components(prod).map((r) => r.type).sort()).toEqual(
      [
        'clawdbot:backups:Backups',
        'clawdbot:deployment:Deployment',
        'clawdbot:dns:Dns',
        'clawdbot:host:Host',
        'clawdbot:monitoring:Monitoring',
        'clawdbot:network:Network',
        'clawdbot:secrets:Secrets',
      ],
    );
    for (const component of components(prod)) expect(component.parent).toBe(stackUrn(prod));
  });
});

describe('secrets', () => {
  /** Every string that must never appear outside a secret wrapper. */
  const secretValues = (simulation: Simulation) => {
    const fromConfig = Object.entries(simulation.config)
      .filter(([key]) => /ApiKey|Secret|Token|AesKey|EncryptKey|PrivateKey/.test(key))
      .map(([, value]) => value);
    // The variables' names are plain by design.
    const { botEnvironmentNames: _names, ...secretOutputs } = only(simulation, 'clawdbot:secrets:Secrets').outputs;
    const generated = strings(secretOutputs);
    return [...new Set([...fromConfig, ...generated])].filter((value) => value.length >= 16);
  };

  /** Paths of plain (unwrapped) strings that contain a secret. */
  const leaks = (value: unknown, secrets: string[], path: string): string[] => {
    if (isSecretValue(value)) return [];
    if (typeof value === 'string') return secrets.some((secret) => value.includes(secret)) ? [path] : [];
    if (Array.isArray(value)) return value.flatMap((item, index) => leaks(item, secrets, `${path}[${index}]`));
    if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, item]) => leaks(item, secrets, `${path}.${key}`));
    return [];
  };

  it('are secret outputs, and only secret outputs hold them', () => {
    for (const [, simulation] of stacks()) {
      expect(isSecretValue(simulation.outputs.gatewayApiKey)).toBe(true);
      expect(isSecretValue(simulation.outputs.adminToken)).toBe(true);
      for (const key of ['publicUrl', 'sshCommand', 'instanceId', 'backupBucketName', 'dashboardUrl', 'alarmTopicArn']) {
        expect(typeof simulation.outputs[key]).toBe('string');
      }
      expect(leaks(simulation.outputs, secretValues(simulation), 'outputs')).toEqual([]);
    }
  });

  it('never reach a resource input in plain text', async () => {
    const withChannels = await simulate('prod', {
      config: { dingtalkAppKey: 'dingappkey', feishuAppId: 'cli_0123456789abcdef' },
      secrets: { modelApiSecret: 'placeholder-model-api-secret' },
    });
    for (const simulation of [dev, prod, withChannels]) {
      const secrets = secretValues(simulation);
      expect(secrets.length).toBeGreaterThanOrEqual(3);
      expect(simulation.resources.flatMap((r) => leaks(r.inputs, secrets, `${r.type} ${r.name}`))).toEqual([]);
      expect(simulation.resources.flatMap((r) => leaks(r.outputs, secrets, `${r.type} ${r.name} outputs`))).toEqual([]);
    }
  });

  it('hand the bot an environment its own settings loader accepts, as one secret', async () => {
    const simulation = await simulate('prod', {
      config: { dingtalkAppKey: 'dingappkey', feishuAppId: 'cli_0123456789abcdef', modelKeyExpiresAt: '2030-01-31' },
      secrets: { feishuVerificationToken: 'feishu-verification-token' },
    });
    const secrets = only(simulation, 'clawdbot:secrets:Secrets').outputs;
    expect(isSecretValue(secrets.botEnvironment)).toBe(true);
    const env = reveal(secrets.botEnvironment) as Record<string, string>;
    const settings = loadSettings(env, '/tmp');
    expect(settings.model).toMatchObject({ provider: 'openai', name: 'deepseek-chat', endpoint: 'https://api.deepseek.com/v1', apiKey: 'placeholder-modelApiKey' });
    expect(settings.modelKeyExpiresAt?.toISOString().slice(0, 10)).toBe('2030-01-31');
    expect(settings.apiKeys).toEqual([reveal(simulation.outputs.gatewayApiKey)]);
    expect(settings.adminToken).toBe(reveal(simulation.outputs.adminToken));
    expect(JSON.parse(JSON.stringify(settings.channels))).toMatchObject({
      dingtalk: { mode: 'http', appKey: 'dingappkey', eventSubscription: { token: reveal(simulation.outputs.dingtalkToken), aesKey: reveal(simulation.outputs.dingtalkAesKey) } },
      feishu: { mode: 'webhook', appId: 'cli_0123456789abcdef', verificationToken: 'feishu-verification-token', encryptKey: reveal(simulation.outputs.feishuEncryptKey) },
    });
    for (const key of ['dingtalkToken', 'dingtalkAesKey', 'feishuEncryptKey']) expect(isSecretValue(simulation.outputs[key])).toBe(true);
    expect(reveal(simulation.outputs.dingtalkAesKey)).toMatch(/^[A-Za-z0-9]{43}$/);
  });

  it('use supplied webhook secrets instead of generating them', async () => {
    const aesKey = 'A'.repeat(43);
    const simulation = await simulate('dev', { config: { dingtalkAppKey: 'dingappkey' }, secrets: { dingtalkToken: 'my-dingtalk-token-123', dingtalkAesKey: aesKey } });
    expect(reveal(simulation.outputs.dingtalkAesKey)).toBe(aesKey);
    expect(reveal(simulation.outputs.dingtalkToken)).toBe('my-dingtalk-token-123');
    expect(ofType(simulation, 'random:index/randomPassword:RandomPassword').map((r) => r.name).sort()).toEqual(['clawdbot-dev-admin-token', 'clawdbot-dev-gateway-api-key']);
  });

  it('leave the channels out when their app ids are not set', () => {
    const env = reveal(only(dev, 'clawdbot:secrets:Secrets').outputs.botEnvironment) as Record<string, string>;
    expect(Object.keys(env).filter((key) => /^(DINGTALK|FEISHU)_/.test(key))).toEqual([]);
    expect(dev.outputs).not.toHaveProperty('dingtalkToken');
  });
});

describe('outputs', () => {
  it('give the URL, SSH command, instance, bucket, dashboard and alarm topic', () => {
    const bucket = (simulation: Simulation) => simulation.resources.find((r: SimulatedResource) => r.type === 'aws:s3/bucket:Bucket')!;
    expect(prod.outputs).toMatchObject({
      publicUrl: 'https://bot.example.com',
      sshCommand: "ssh -o ProxyCommand='aws ssm start-session --region ap-southeast-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p' -p 2222 ubuntu@clawdbot-prod-host-id",
      instanceId: 'clawdbot-prod-host-id',
      backupBucketName: expect.stringMatching(new RegExp(`^${bucket(prod).name}-`)),
      dashboardUrl: 'https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#dashboards:name=clawdbot-prod',
      alarmTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:clawdbot-prod-alarms',
    });
    expect(dev.outputs.sshCommand).toContain('-p 2222 ubuntu@clawdbot-dev-host-id');
  });

  it('with sshAccess direct, log in to the Elastic IP from sshAllowedCidrs, and say so when it cannot', async () => {
    const direct = await simulate('prod', { config: { sshAccess: 'direct', sshAllowedCidrs: ['203.0.113.0/24'] } });
    expect(direct.outputs.sshCommand).toBe('ssh -p 2222 ubuntu@bot.example.com');
    expect(inputs(named(direct, 'clawdbot-prod-readiness')).connection).toMatchObject({ host: '203.0.113.10', port: 2222, hostKey: PLACEHOLDER_HOST_KEY });
    expect(inputs(named(direct, 'clawdbot-prod-reach-host')).environment.CLAWDBOT_SSH_UNREACHABLE_HINT).toContain('clawdbot:sshAllowedCidrs');
  });
});
