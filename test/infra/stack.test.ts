import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';
import { loadSettings } from '../../app/src/config';
import { CLOUDWATCH_NAMESPACE, HOST_PATHS, METRICS, PORTS } from '../../app/src/contract';
import { parseCidr, PROD_SSH_MIN_PREFIX } from '../../infra/config';
import { isSecretValue, reveal, simulate, type SimulatedResource, type Simulation } from '../../infra/simulate';
import { Host, ubuntuAmiParameter } from '../../components/host';
import { ancestors, bashArray, inputs, ofType, only, strings, userDataOf, writtenFile } from './graph';

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
const fileIn = (simulation: Simulation, path: string) => writtenFile(userDataOf(simulation), path);
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

  it('opens exactly the gateway and HTTPS to publicCidrs and the custom SSH port to sshAllowedCidrs, each family in its list', () => {
    expect(ingress(prod)).toEqual([
      { protocol: 'tcp', fromPort: PORTS.https, toPort: PORTS.https, ...everyone },
      { protocol: 'tcp', fromPort: 2222, toPort: 2222, cidrBlocks: ['203.0.113.0/24'], ipv6CidrBlocks: [] },
      { protocol: 'tcp', fromPort: PORTS.gateway, toPort: PORTS.gateway, ...everyone },
    ]);
    expect(ingress(dev).map((rule) => rule.fromPort)).toEqual([PORTS.https, 2222, PORTS.gateway]);
  });

  it('is the only source of inbound rules', () => {
    for (const [, simulation] of stacks()) {
      expect(ofType(simulation, 'aws:ec2/securityGroup:SecurityGroup')).toHaveLength(1);
      expect(simulation.resources.filter((r) => /securityGroupIngressRule|securityGroupRule/.test(r.type))).toEqual([]);
    }
  });

  it('never opens SSH wider than an office or VPN range in prod, though dev may open it to all', () => {
    const ssh = (simulation: Simulation) => ingress(simulation).find((rule) => rule.fromPort === 2222)!;
    for (const cidr of [...ssh(prod).cidrBlocks, ...ssh(prod).ipv6CidrBlocks]) {
      const { family, prefixLength } = parseCidr(cidr)!;
      expect(prefixLength).toBeGreaterThanOrEqual(PROD_SSH_MIN_PREFIX[family]);
    }
    expect(ssh(dev)).toMatchObject({ cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: [] });
  });

  it('is mirrored by the host firewall (ufw) in the user data', () => {
    for (const [, simulation] of stacks()) {
      const script = fileIn(simulation, '/usr/local/sbin/clawdbot-provision');
      const rules = ingress(simulation);
      const ssh = rules.find((rule) => rule.fromPort === 2222)!;
      const gateway = rules.find((rule) => rule.fromPort === PORTS.gateway)!;
      expect(bashArray(script, 'ssh_allowed_cidrs')).toEqual([...ssh.cidrBlocks, ...ssh.ipv6CidrBlocks]);
      expect(bashArray(script, 'public_cidrs')).toEqual([...gateway.cidrBlocks, ...gateway.ipv6CidrBlocks]);
      expect(bashArray(script, 'public_ports').map(Number).sort()).toEqual(rules.filter((rule) => rule !== ssh).map((rule) => rule.fromPort).sort());
      expect(script).toContain("ssh_port='2222'");
    }
  });

  it('follows publicCidrs, sshAllowedCidrs and sshPort from config, splitting mixed lists by family', async () => {
    const custom = await simulate('prod', {
      config: { publicCidrs: ['198.51.100.0/24', '2001:db8:1::/48', '192.0.2.0/24'], sshAllowedCidrs: ['2001:db8:2::/64', '203.0.113.0/24'], sshPort: 40022 },
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
  it('requires IMDSv2 with hop limit 2, an encrypted gp3 root of at least 50 GB and detailed monitoring', () => {
    for (const [, simulation] of stacks()) {
      const instance = inputs(only(simulation, 'aws:ec2/instance:Instance'));
      expect(instance.metadataOptions).toEqual({ httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 2 });
      expect(instance.rootBlockDevice).toMatchObject({ volumeType: 'gp3', encrypted: true });
      expect(instance.rootBlockDevice.volumeSize).toBeGreaterThanOrEqual(50);
      expect(instance.monitoring).toBe(true);
      expect(instance.instanceType).toBe('t4g.medium');
    }
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

  it('boots Ubuntu 24.04 for the instance architecture, and a newer image never replaces it', async () => {
    const amiLookup = (simulation: Simulation) => simulation.calls.find((call) => call.token === 'aws:ssm/getParameter:getParameter')!.inputs.name;
    expect(amiLookup(dev)).toBe(ubuntuAmiParameter('arm64'));
    expect(amiLookup(dev)).toBe('/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id');
    const intel = await simulate('dev', { config: { instanceType: 't3.medium' } });
    expect(amiLookup(intel)).toBe(ubuntuAmiParameter('amd64'));
    expect(inputs(only(intel, 'aws:ec2/instance:Instance')).instanceType).toBe('t3.medium');
    expect(only(dev, 'aws:ec2/instance:Instance').ignoreChanges).toEqual(['ami']);
  });

  it('gets an Elastic IP and the configured key pair', () => {
    const instance = only(prod, 'aws:ec2/instance:Instance');
    expect(inputs(only(prod, 'aws:ec2/eip:Eip'))).toMatchObject({ domain: 'vpc', instance: `${instance.name}-id` });
    expect(inputs(only(prod, 'aws:ec2/keyPair:KeyPair')).publicKey).toMatch(/^ssh-ed25519 /);
    expect(inputs(instance).keyName).toBe(only(prod, 'aws:ec2/keyPair:KeyPair').name);
  });

  it('has a least-privilege role: its own backup prefix, the agent, SSM', () => {
    for (const [, simulation] of stacks()) {
      const bucketArn = `arn:aws:s3:::${simulation.outputs.backupBucketName}`;
      const prefix = `clawdbot-${simulation.stack}/`;
      const statements = inputs(only(simulation, 'aws:iam/rolePolicy:RolePolicy')).policy.Statement as any[];
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
    const prodStatements = inputs(only(prod, 'aws:iam/rolePolicy:RolePolicy')).policy.Statement as any[];
    expect(prodStatements.find((statement) => statement.Sid === 'UseBackupKey').Resource).toContain(kmsKeyArn);
    expect(inputs(only(dev, 'aws:iam/rolePolicy:RolePolicy')).policy.Statement.map((s: any) => s.Sid)).not.toContain('UseBackupKey');
  });

  it('runs the backup timer on backup.schedule', async () => {
    // No config key sets it yet; the Host takes it from its arguments.
    const schedule = 'Mon..Fri *-*-* 01:30:00';
    const simulation = await simulate('dev', {
      program: () => {
        const host = new Host('clawdbot-schedule', {
          instanceType: 't4g.medium',
          architecture: 'arm64',
          subnetId: 'subnet-0default-a',
          securityGroupId: 'sg-0host',
          sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFBsYWNlaG9sZGVy test@host',
          sshPort: 2222,
          sshAllowedCidrs: { ipv4: ['203.0.113.0/24'], ipv6: [] },
          publicCidrs: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
          rootVolumeSizeGb: 50,
          rootVolumeTags: {},
          terminationProtection: false,
          region: 'ap-southeast-1',
          partition: 'aws',
          dnsSuffix: 'amazonaws.com',
          stack: 'dev',
          backup: { bucketName: 'b', bucketArn: 'arn:aws:s3:::b', prefix: 'clawdbot-schedule/', retentionDays: 7, schedule },
        });
        return { instanceId: host.instanceId };
      },
    });
    expect(writtenFile(userDataOf(simulation), '/etc/systemd/system/clawdbot-backup.timer')).toContain(`\nOnCalendar=${schedule}\n`);
    expect(fileIn(dev, '/etc/systemd/system/clawdbot-backup.timer')).toContain('\nOnCalendar=daily\n');
  });

  it('renders its user data from the stack config', () => {
    expect(fileIn(prod, '/etc/ssh/sshd_config.d/10-clawdbot.conf')).toContain('Port 2222\n');
    expect(fileIn(prod, `${HOST_PATHS.root}/backup.env`)).toContain(`BACKUP_BUCKET=${prod.outputs.backupBucketName}\nBACKUP_PREFIX=clawdbot-prod/\nBACKUP_RETENTION_DAYS=90\n`);
    expect(fileIn(prod, '/usr/local/sbin/clawdbot-provision')).toContain("ssh_allowed_cidrs=('203.0.113.0/24')");
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
    missingData: 'missing' | 'notBreaching';
  }
  const table: AlarmRow[] = [
    { alarm: 'cpu', namespace: 'AWS/EC2', metric: 'CPUUtilization', stat: 'Average', above: 85, windowSeconds: 600, datapointsToAlarm: 10, missingData: 'missing' },
    { alarm: 'memory', namespace: 'CWAgent', metric: 'mem_used_percent', stat: 'Average', above: 90, windowSeconds: 600, datapointsToAlarm: 10, missingData: 'missing' },
    { alarm: 'latencyP99', ...appMetric(METRICS.httpLatency), stat: 'p99', above: 2, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'errorRate', ratio: [METRICS.http5xx, METRICS.httpRequests], above: 5, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'modelFailureRate', ratio: [METRICS.modelFailures, METRICS.modelCalls], above: 10, windowSeconds: 300, datapointsToAlarm: 5, missingData: 'notBreaching' },
    { alarm: 'modelKeyExpiry', ...appMetric(METRICS.modelKeyDaysToExpiry), stat: 'Minimum', below: 7, windowSeconds: 300, missingData: 'notBreaching' },
    { alarm: 'disk', namespace: 'CWAgent', metric: 'disk_used_percent', stat: 'Average', above: 80, windowSeconds: 300, missingData: 'missing' },
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

  it('are exactly the table', () => {
    for (const [, simulation] of stacks()) {
      expect(ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm').map((r) => r.name).sort()).toEqual(
        table.map((row) => `clawdbot-${simulation.stack}-${row.alarm}`).sort(),
      );
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

  it('mail the alarm topic when alarmEmail is set', () => {
    expect(inputs(only(prod, 'aws:sns/topicSubscription:TopicSubscription'))).toMatchObject({ protocol: 'email', endpoint: 'ops@example.com' });
    expect(ofType(dev, 'aws:sns/topicSubscription:TopicSubscription')).toEqual([]);
  });

  it('all appear on the dashboard', () => {
    for (const [, simulation] of stacks()) {
      const body = JSON.parse(inputs(only(simulation, 'aws:cloudwatch/dashboard:Dashboard')).dashboardBody);
      const shown = body.widgets.flatMap((widget: any) => [...(widget.properties.alarms ?? []), ...(widget.properties.annotations?.alarms ?? [])]);
      const alarmArns = ofType(simulation, 'aws:cloudwatch/metricAlarm:MetricAlarm').map(
        (r) => `arn:aws:cloudwatch:ap-southeast-1:123456789012:alarm:${inputs(r).name}`,
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
      expect(inputs(only(simulation, 'aws:s3/bucketVersioning:BucketVersioning')).versioningConfiguration).toEqual({ status: 'Enabled' });
      expect(inputs(only(simulation, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock'))).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const bucketArn = `arn:aws:s3:::${simulation.outputs.backupBucketName}`;
      expect(inputs(only(simulation, 'aws:s3/bucketPolicy:BucketPolicy')).policy.Statement).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [bucketArn, `${bucketArn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      ]);
    }
    expect(inputs(only(dev, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')).rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
    ]);
    const key = only(prod, 'aws:kms/key:Key');
    expect(inputs(key).enableKeyRotation).toBe(true);
    expect(inputs(only(prod, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')).rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: expect.stringMatching(/^arn:aws:kms:/) }, bucketKeyEnabled: true },
    ]);
  });

  it('move to a cheaper class after 30 days and expire old versions after backupRetentionDays', () => {
    for (const [, simulation, days] of [...stacks().map(([name, s]) => [name, s, name === 'dev' ? 7 : 90] as const)]) {
      const rules = inputs(only(simulation, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration')).rules as any[];
      const main = rules.find((rule) => rule.transitions);
      expect(main).toMatchObject({ status: 'Enabled', transitions: [{ days: 30, storageClass: 'STANDARD_IA' }], noncurrentVersionExpiration: { noncurrentDays: days } });
    }
  });

  it('configure the new bucket one call at a time, versioning before the lifecycle rules', () => {
    for (const [, simulation] of stacks()) {
      const byUrn = new Map(simulation.resources.map((r) => [r.urn, r]));
      const waitsFor = (resource: SimulatedResource, other: SimulatedResource): boolean =>
        resource.dependencies.some((urn) => urn === other.urn || waitsFor(byUrn.get(urn)!, other));
      const bucket = only(simulation, 'aws:s3/bucket:Bucket');
      const settings = simulation.resources.filter((r) => r.type.startsWith('aws:s3/bucket') && r !== bucket);
      expect(settings.map((r) => r.type).sort()).toEqual([
        'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
        'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
        'aws:s3/bucketPolicy:BucketPolicy',
        'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
        'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
        'aws:s3/bucketVersioning:BucketVersioning',
      ]);
      // Any two settings are ordered one way or the other: none can run beside another.
      for (const a of settings) {
        expect(waitsFor(a, bucket)).toBe(true);
        for (const b of settings.filter((other) => other !== a)) {
          expect({ pair: [a.type, b.type], ordered: waitsFor(a, b) !== waitsFor(b, a) }).toEqual({ pair: [a.type, b.type], ordered: true });
        }
      }
      const lifecycle = only(simulation, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration');
      expect(waitsFor(lifecycle, only(simulation, 'aws:s3/bucketVersioning:BucketVersioning'))).toBe(true);
    }
  });

  it('are protected and outlive the stack in prod only', () => {
    const bucket = (simulation: Simulation) => only(simulation, 'aws:s3/bucket:Bucket');
    expect(bucket(prod)).toMatchObject({ protect: true, retainOnDelete: true });
    expect(only(prod, 'aws:kms/key:Key')).toMatchObject({ protect: true, retainOnDelete: true });
    expect(bucket(dev)).toMatchObject({ protect: false, retainOnDelete: false });
    expect(inputs(bucket(dev)).forceDestroy).toBe(true);
  });

  it('snapshot the root volume daily and keep 7', () => {
    for (const [, simulation] of stacks()) {
      const policy = inputs(only(simulation, 'aws:dlm/lifecyclePolicy:LifecyclePolicy')).policyDetails;
      expect(policy.resourceTypes).toEqual(['VOLUME']);
      expect(policy.schedules).toEqual([expect.objectContaining({ createRule: { interval: 24, intervalUnit: 'HOURS', times: '03:00' }, retainRule: { count: 7 } })]);
      expect(inputs(only(simulation, 'aws:ec2/instance:Instance')).rootBlockDevice.tags).toMatchObject(policy.targetTags);
    }
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
  const provider = (simulation: Simulation) => only(simulation, 'pulumi:providers:aws');

  it('puts every AWS resource under a clawdbot component, through the tagged provider', () => {
    for (const [, simulation] of stacks()) {
      const providerRef = `${provider(simulation).urn}::${provider(simulation).name}-id`;
      const awsResources = simulation.resources.filter((r) => r.type.startsWith('aws:'));
      expect(awsResources.length).toBeGreaterThan(25);
      for (const resource of awsResources) {
        const chain = ancestors(simulation, resource).map((parent) => parent.type);
        expect({ resource: resource.name, component: chain[0] }).toEqual({ resource: resource.name, component: expect.stringMatching(/^clawdbot:[a-z]+:[A-Z][A-Za-z]+$/) });
        expect({ resource: resource.name, provider: resource.provider }).toEqual({ resource: resource.name, provider: providerRef });
      }
      // The hosted-zone lookup included: it must see the account the record goes to.
      expect(simulation.calls.length).toBeGreaterThan(0);
      for (const call of simulation.calls) {
        expect({ call: call.token, provider: call.provider }).toEqual({ call: call.token, provider: providerRef });
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
      const fields = Object.entries(component).filter(([key]) => !key.startsWith('__') && key !== 'urn');
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
      ['clawdbot:backups:Backups', 'clawdbot:dns:Dns', 'clawdbot:host:Host', 'clawdbot:monitoring:Monitoring', 'clawdbot:network:Network', 'clawdbot:secrets:Secrets'],
    );
    for (const component of components(prod)) expect(component.parent).toBe(stackUrn(prod));
  });
});

describe('secrets', () => {
  /** Every string that must never appear outside a secret wrapper. */
  const secretValues = (simulation: Simulation) => {
    const fromConfig = Object.entries(simulation.config)
      .filter(([key]) => /ApiKey|Secret|Token|AesKey|EncryptKey/.test(key))
      .map(([, value]) => value);
    const generated = strings(only(simulation, 'clawdbot:secrets:Secrets').outputs);
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
      sshCommand: 'ssh -p 2222 ubuntu@bot.example.com',
      instanceId: 'clawdbot-prod-host-id',
      backupBucketName: expect.stringMatching(new RegExp(`^${bucket(prod).name}-`)),
      dashboardUrl: 'https://ap-southeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-1#dashboards:name=clawdbot-prod',
      alarmTopicArn: 'arn:aws:sns:ap-southeast-1:123456789012:clawdbot-prod-alarms',
    });
    expect(dev.outputs.sshCommand).toBe('ssh -p 2222 ubuntu@203.0.113.10');
  });
});
