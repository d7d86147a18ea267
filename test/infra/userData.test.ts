import { parse } from 'yaml';
import { HOST_PATHS, LOG_FILES, PORTS, ROUTES } from '../../app/src/contract';
import { renderTemplate, shellQuote } from '../../components/template';
import { HOST_FILES, PUBLIC_PORTS, USER_DATA_LIMIT_BYTES, renderUserData, type UserDataArgs } from '../../components/userData';
import { bashArray, parseCloudConfig, writtenFile, type CloudConfig } from './graph';

// The host's cloud-init user data, rendered from components/templates/ and read back as the
// host would read it. test/system/shellcheck-infra.test.ts lints the shell in it.

const args: UserDataArgs = {
  stack: 'prod',
  region: 'ap-southeast-1',
  dnsSuffix: 'amazonaws.com',
  sshPort: 40022,
  sshAllowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
  publicCidrs: ['0.0.0.0/0', '::/0'],
  backupBucket: 'clawdbot-prod-backups-abc123',
  backupPrefix: 'clawdbot-prod/',
  backupRetentionDays: 90,
  appLogGroup: '/clawdbot-prod/app',
  prometheusLogGroup: '/clawdbot-prod/prometheus',
};

const render = (overrides: Partial<UserDataArgs> = {}) => renderUserData({ ...args, ...overrides });
const cloudConfig = (text = render()) => parseCloudConfig(text);
const file = (path: string, config: CloudConfig = cloudConfig()) => writtenFile(config, path);
const provision = (config = cloudConfig()) => file('/usr/local/sbin/clawdbot-provision', config);
/** The value of a quoted bash assignment `name='value'`. */
const shellValue = (script: string, name: string) => new RegExp(`^${name}='([^']*)'$`, 'm').exec(script)?.[1];

describe('cloud-init user data', () => {
  it('is cloud-config under the EC2 size limit, even with many CIDRs', () => {
    expect(render().startsWith('#cloud-config\n')).toBe(true);
    const many = Array.from({ length: 40 }, (_, i) => `198.51.${i}.0/24`);
    expect(Buffer.byteLength(render({ sshAllowedCidrs: many, publicCidrs: many }))).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it('moves sshd to the custom port with keys only and no root login', () => {
    const config = cloudConfig();
    expect(config.ssh_pwauth).toBe(false);
    expect(config.disable_root).toBe(true);
    const sshd = file('/etc/ssh/sshd_config.d/10-clawdbot.conf', config).split('\n');
    expect(sshd).toEqual(expect.arrayContaining(['Port 40022', 'PermitRootLogin no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AuthenticationMethods publickey']));
    // Ubuntu 24.04 socket-activates sshd: the new port takes a daemon-reload and a socket restart,
    // after the config has been checked.
    const script = provision(config);
    expect(script.indexOf('sshd -t')).toBeLessThan(script.indexOf('systemctl restart ssh.socket'));
    expect(script.indexOf('systemctl daemon-reload')).toBeLessThan(script.indexOf('systemctl restart ssh.socket'));
    expect(shellValue(script, 'ssh_port')).toBe('40022');
  });

  it('bans SSH brute force on the custom port with fail2ban', () => {
    const config = cloudConfig();
    expect(config.packages).toContain('fail2ban');
    expect(file('/etc/fail2ban/jail.d/clawdbot-sshd.local', config)).toMatch(/^\[sshd\]\nenabled = true\nport = 40022\n/);
  });

  it('installs security updates unattended', () => {
    const config = cloudConfig();
    expect(config.packages).toContain('unattended-upgrades');
    expect(file('/etc/apt/apt.conf.d/20auto-upgrades', config)).toBe('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n');
  });

  it('installs Docker Engine and the compose plugin from Docker\'s apt repository, key pinned', () => {
    const script = provision();
    expect(script).toContain('https://download.docker.com/linux/ubuntu/gpg');
    expect(script).toContain('docker_key_fingerprint=9DC858229FC7DD38854AE2D88D81803C0EBFCD88');
    expect(script).toMatch(/signed-by=\/etc\/apt\/keyrings\/docker\.asc\] https:\/\/download\.docker\.com\/linux\/ubuntu/);
    expect(script).toMatch(/apt-get install .*docker-ce .*docker-compose-plugin/);
  });

  it('firewalls the host like the security group, and says why internal services bind 127.0.0.1', () => {
    const script = provision();
    expect(script).toContain('ufw default deny incoming');
    expect(bashArray(script, 'ssh_allowed_cidrs')).toEqual(args.sshAllowedCidrs);
    expect(bashArray(script, 'public_cidrs')).toEqual(args.publicCidrs);
    expect(bashArray(script, 'public_ports').map(Number)).toEqual([PORTS.gateway, PORTS.https]);
    expect(PUBLIC_PORTS).toEqual([PORTS.gateway, PORTS.https]);
    expect(script).toMatch(/Docker-published ports bypass ufw|Ports that Docker publishes bypass ufw/);
    expect(script).toContain('bind 127.0.0.1');
    expect(script.indexOf('ufw --force enable')).toBeGreaterThan(script.lastIndexOf('ufw allow'));
  });

  it('configures the CloudWatch agent for memory, root disk, the bot\'s logs and its Prometheus metrics', () => {
    const config = cloudConfig();
    const agent = JSON.parse(file(HOST_FILES.cloudwatchAgentConfig, config));
    expect(agent.metrics.metrics_collected).toEqual({
      mem: { measurement: ['mem_used_percent'] },
      disk: { measurement: ['used_percent'], resources: ['/'], drop_device: true },
    });
    expect(agent.logs.logs_collected.files.collect_list.map((entry: any) => entry.file_path)).toEqual(Object.values(LOG_FILES).map((name) => `${HOST_PATHS.logs}/${name}`));
    const prometheus = agent.logs.metrics_collected.prometheus;
    expect(prometheus).toMatchObject({ log_group_name: args.prometheusLogGroup, prometheus_config_path: HOST_FILES.prometheusConfig });

    const scrape = parse(file(HOST_FILES.prometheusConfig, config)).scrape_configs;
    expect(scrape).toEqual([
      { job_name: 'clawdbot', metrics_path: ROUTES.metrics, static_configs: [{ targets: [`127.0.0.1:${PORTS.metrics}`], labels: { Stack: 'prod' } }] },
    ]);
    expect(prometheus.emf_processor.metric_declaration.map((declaration: any) => declaration.label_matcher)).toEqual(['^clawdbot$', '^clawdbot;0\\.99$']);
    // The agent is started on that config, after the agent package's signature checked out.
    const script = provision(config);
    expect(shellValue(script, 'cloudwatch_agent_config')).toBe(HOST_FILES.cloudwatchAgentConfig);
    expect(script.indexOf('gpg --batch --verify')).toBeLessThan(script.indexOf('dpkg -i'));
    expect(shellValue(script, 'cloudwatch_agent_url')).toBe('https://amazoncloudwatch-agent-ap-southeast-1.s3.ap-southeast-1.amazonaws.com');
  });

  it('rotates the bot\'s logs daily, 7 times, compressed, copying because pino keeps them open', () => {
    expect(HOST_PATHS.logs).toBe('/opt/clawdbot/logs');
    const rotation = file('/etc/logrotate.d/clawdbot').split('\n').map((line) => line.trim());
    expect(rotation[0]).toBe('/opt/clawdbot/logs/*.log {');
    expect(rotation).toEqual(expect.arrayContaining(['daily', 'rotate 7', 'compress', 'copytruncate']));
  });

  it('creates the bot\'s host directories', () => {
    expect(bashArray(provision(), 'host_dirs')).toEqual([HOST_PATHS.root, HOST_PATHS.data, HOST_PATHS.logs, HOST_PATHS.bin]);
  });

  it('installs a daily backup timer that runs the deployment\'s backup job with the bucket settings', () => {
    const config = cloudConfig();
    const timer = file('/etc/systemd/system/clawdbot-backup.timer', config);
    expect(timer).toContain('\nOnCalendar=daily\n');
    expect(timer).toContain('\nPersistent=true\n');
    const service = file('/etc/systemd/system/clawdbot-backup.service', config);
    expect(service).toContain(`\nExecStart=${HOST_PATHS.bin}/backup\n`);
    expect(service).toContain(`\nEnvironmentFile=${HOST_FILES.backupEnv}\n`);
    expect(service).toContain(`\nConditionPathExists=${HOST_PATHS.bin}/backup\n`);
    expect(file(HOST_FILES.backupEnv, config)).toBe(
      'BACKUP_BUCKET=clawdbot-prod-backups-abc123\nBACKUP_PREFIX=clawdbot-prod/\nBACKUP_RETENTION_DAYS=90\nAWS_REGION=ap-southeast-1\n',
    );
    expect(provision(config)).toContain('systemctl enable --now clawdbot-backup.timer');
  });

  it('takes the backup schedule as input, and refuses one that is not an OnCalendar expression', () => {
    expect(file('/etc/systemd/system/clawdbot-backup.timer', cloudConfig(render({ backupSchedule: '*-*-* 02:30:00' })))).toContain('\nOnCalendar=*-*-* 02:30:00\n');
    expect(() => render({ backupSchedule: 'daily\nExecStart=/bin/sh' })).toThrow('backupSchedule "daily\\nExecStart=/bin/sh" is not a systemd OnCalendar expression');
  });

  it('runs the provisioning script once, from runcmd', () => {
    const config = cloudConfig();
    expect(config.runcmd).toEqual([['/usr/local/sbin/clawdbot-provision']]);
    expect(config.write_files.find((f) => f.path === '/usr/local/sbin/clawdbot-provision')!.permissions).toBe('0700');
    expect(provision(config)).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/);
  });
});

describe('templates', () => {
  it('refuse a placeholder without a value', () => {
    expect(() => renderTemplate('provision.sh', {})).toThrow('template provision.sh: no value for {{ sshPort }}');
  });

  it('refuse values no placeholder uses', () => {
    const values = {
      sshPort: 1,
      sshAllowedCidrs: '',
      publicCidrs: '',
      publicPorts: '',
      hostDirs: '',
      cloudwatchAgentUrl: '',
      cloudwatchAgentConfigPath: '',
    };
    expect(() => renderTemplate('provision.sh', values)).not.toThrow();
    expect(() => renderTemplate('provision.sh', { ...values, sshPortt: 2 })).toThrow('template provision.sh: values not used: sshPortt');
  });

  it('quote shell values so they stay one word', () => {
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
    expect(shellQuote(2222)).toBe("'2222'");
  });
});
