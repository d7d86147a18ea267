import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { HOST_PATHS, LOG_FILES, PORTS, ROUTES } from '../../app/src/contract';
import { shellQuote } from '../../components/scripts/render';
import { renderTemplate } from '../../components/single-host/template';
import { AGENT_FILES, PUBLIC_PORTS, SYSCTL_FILE, USER_DATA_LIMIT_BYTES, renderUserData, type UserDataArgs } from '../../components/single-host/userData';
import { bashArray, parseCloudConfig, writtenFile, type CloudConfig } from './graph';

// The host's cloud-init user data, rendered from components/single-host/templates/ and read back as the
// host would read it. test/system/shellcheck-infra.test.ts lints the shell in it.

const args: UserDataArgs = {
  stack: 'prod',
  region: 'ap-southeast-1',
  dnsSuffix: 'amazonaws.com',
  sshPort: 40022,
  deployUser: 'ubuntu',
  dataVolumeId: 'vol-0123456789abcdef0',
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
  it('is cloud-config under the EC2 size limit', () => {
    expect(render().startsWith('#cloud-config\n')).toBe(true);
    expect(Buffer.byteLength(render())).toBeLessThan(USER_DATA_LIMIT_BYTES);
  });

  it('moves sshd to the custom port with keys only and no root login', () => {
    const config = cloudConfig();
    expect(config.ssh_pwauth).toBe(false);
    expect(config.disable_root).toBe(true);
    const sshd = file('/etc/ssh/sshd_config.d/10-clawdbot.conf', config).split('\n');
    expect(sshd).toEqual(expect.arrayContaining(['Port 40022', 'PermitRootLogin no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'AuthenticationMethods publickey']));
    // The port move itself runs in the sandbox below.
    expect(shellValue(provision(config), 'ssh_port')).toBe('40022');
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

  it('firewalls the host to the security group\'s ports, and says why internal services bind 127.0.0.1', () => {
    const script = provision();
    expect(script).toContain('ufw default deny incoming');
    expect(bashArray(script, 'public_ports').map(Number)).toEqual([PORTS.gateway, PORTS.https]);
    expect(PUBLIC_PORTS).toEqual([PORTS.gateway, PORTS.https]);
    expect(script).toMatch(/Docker-published ports bypass ufw|Ports that Docker publishes bypass ufw/);
    expect(script).toContain('bind 127.0.0.1');
  });

  it('configures the CloudWatch agent for memory, root disk, the bot\'s logs and its Prometheus metrics', () => {
    const config = cloudConfig();
    const agent = JSON.parse(file(AGENT_FILES.cloudwatchAgentConfig, config));
    expect(agent.metrics.metrics_collected).toEqual({
      mem: { measurement: ['mem_used_percent'] },
      disk: { measurement: ['used_percent'], resources: ['/'], drop_device: true },
    });
    expect(agent.logs.logs_collected.files.collect_list.map((entry: any) => entry.file_path)).toEqual(Object.values(LOG_FILES).map((name) => `${HOST_PATHS.logs}/${name}`));
    const prometheus = agent.logs.metrics_collected.prometheus;
    expect(prometheus).toMatchObject({ log_group_name: args.prometheusLogGroup, prometheus_config_path: AGENT_FILES.prometheusConfig });

    const scrape = parse(file(AGENT_FILES.prometheusConfig, config)).scrape_configs;
    expect(scrape).toEqual([
      { job_name: 'clawdbot', metrics_path: ROUTES.metrics, static_configs: [{ targets: [`127.0.0.1:${PORTS.metrics}`], labels: { Stack: 'prod' } }] },
    ]);
    expect(prometheus.emf_processor.metric_declaration.map((declaration: any) => declaration.label_matcher)).toEqual(['^clawdbot$', '^clawdbot;0\\.99$']);
    // The agent is started on that config, after the agent package's signature checked out.
    const script = provision(config);
    expect(shellValue(script, 'cloudwatch_agent_config')).toBe(AGENT_FILES.cloudwatchAgentConfig);
    expect(script.indexOf('gpg --batch --verify')).toBeLessThan(script.indexOf('dpkg -i'));
    expect(shellValue(script, 'cloudwatch_agent_url')).toBe('https://amazoncloudwatch-agent-ap-southeast-1.s3.ap-southeast-1.amazonaws.com');
  });

  it.each(['on', 'yes', 'no', '1', '1e3', 'null', '0x1F', 'team-a'])('labels the metrics of a stack named %p with that name, as a string', (stack) => {
    // Prometheus reads YAML 1.1, where on/yes/no are booleans.
    const scrape = parse(file(AGENT_FILES.prometheusConfig, cloudConfig(render({ stack }))), { version: '1.1' }).scrape_configs;
    expect(scrape[0].static_configs[0].labels).toEqual({ Stack: stack });
  });

  it('leaves the bot\'s logs to the gateway, which rotates them itself: no logrotate entry would fight it', () => {
    expect(cloudConfig().write_files.map((f) => f.path).filter((p) => p.startsWith('/etc/logrotate.d/'))).toEqual([]);
    expect(render()).not.toContain(HOST_PATHS.logs + '/*.log');
  });

  it('gives the deploy user the bot\'s host directories and the docker group, which every deploy step needs', () => {
    const script = provision();
    expect(bashArray(script, 'host_dirs')).toEqual([HOST_PATHS.root, HOST_PATHS.data, HOST_PATHS.redisData, HOST_PATHS.logs, HOST_PATHS.bin, HOST_PATHS.releases]);
    expect(shellValue(script, 'deploy_user')).toBe('ubuntu');
    expect(script).toContain('install -m 0755 -o "$deploy_user" -g "$deploy_user" -d "${host_dirs[@]}"');
    expect(script).toContain('usermod -aG docker "$deploy_user"');
    // After Docker's package created the group.
    expect(script.indexOf('usermod -aG docker')).toBeGreaterThan(script.indexOf('apt-get install -y -q docker-ce'));
  });

  it('carries no operational setting: firewall ranges, backup settings and timer come in place from the security group and the deployment', () => {
    const config = cloudConfig();
    expect(config.write_files.map((f) => f.path)).not.toEqual(expect.arrayContaining([HOST_PATHS.backupEnv]));
    expect(config.write_files.map((f) => f.path).filter((path) => path.includes('clawdbot-backup'))).toEqual([]);
    expect(provision(config)).not.toMatch(/_cidrs|clawdbot-backup|BACKUP_/);
  });

  it('mounts the data volume, found by its id, at the bot\'s root before the directories are made', () => {
    const script = provision();
    expect(shellValue(script, 'data_volume_id')).toBe('vol-0123456789abcdef0');
    expect(shellValue(script, 'data_mount')).toBe(HOST_PATHS.root);
    expect(script).toContain('data_device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${data_volume_id//-/}');
    expect(script.indexOf('mount "$data_mount"')).toBeGreaterThan(-1);
    expect(script.indexOf('mount "$data_mount"')).toBeLessThan(script.indexOf('-d "${host_dirs[@]}"'));
  });

  it('lets the kernel hand connections waiting in a closed SO_REUSEPORT listener to its successor, from the first boot on', () => {
    // Caddy reloads that way (test/e2e/deploy.test.ts runs reloads under new connections).
    const config = cloudConfig();
    expect(file(SYSCTL_FILE, config)).toMatch(/^net\.ipv4\.tcp_migrate_req = 1$/m);
    const script = provision(config);
    expect(shellValue(script, 'sysctl_file')).toBe(SYSCTL_FILE);
    expect(script).toContain('sysctl --quiet --load "$sysctl_file"');
  });

  it('runs the provisioning script once, from runcmd', () => {
    const config = cloudConfig();
    expect(config.runcmd).toEqual([['/usr/local/sbin/clawdbot-provision']]);
    expect(config.write_files.find((f) => f.path === '/usr/local/sbin/clawdbot-provision')!.permissions).toBe('0700');
    expect(provision(config)).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/);
  });
});

describe('first boot: sshd and the firewall, run in a sandbox', () => {
  // The script's setup and its sshd and firewall sections run for real under bash, with sshd,
  // systemctl, ufw and install replaced by fakes that record their calls and behave like
  // Ubuntu 24.04 where it matters: `sshd -t` fails without /run/sshd, and systemd refuses to
  // start ssh.socket while ssh.service runs.
  const FAKES: Record<string, string> = {
    install: '',
    sshd: `if [ "$1" = -t ]; then
  if ! grep -q '^install .* /run/sshd$' "$SANDBOX/calls"; then echo 'Missing privilege separation directory: /run/sshd' >&2; exit 255; fi
  if [ -e "$SANDBOX/sshd-config-invalid" ]; then echo '/etc/ssh/sshd_config.d/10-clawdbot.conf line 1: Bad configuration option' >&2; exit 255; fi
fi`,
    systemctl: `unit="$SANDBOX/active/$2"
case "$1" in
  stop) rm -f "$unit" ;;
  restart)
    if [ "$2" = ssh.socket ] && [ -e "$SANDBOX/active/ssh.service" ]; then echo 'ssh.socket: Socket service ssh.service already active, refusing.' >&2; exit 1; fi
    touch "$unit" ;;
esac`,
    ufw: `if [ -e "$SANDBOX/ufw-fails" ] && [ "$1" = allow ]; then echo 'ERROR: Bad source address' >&2; exit 1; fi`,
  };

  let sandbox: string;
  beforeEach(() => {
    sandbox = mkdtempSync(path.join(os.tmpdir(), 'provision-'));
    mkdirSync(path.join(sandbox, 'bin'));
    mkdirSync(path.join(sandbox, 'active'));
    writeFileSync(path.join(sandbox, 'calls'), '');
    for (const [name, behaviour] of Object.entries(FAKES)) {
      const fake = path.join(sandbox, 'bin', name);
      writeFileSync(fake, `#!/bin/sh\necho "${name} $*" >>"$SANDBOX/calls"\n${behaviour}\n`);
      chmodSync(fake, 0o755);
    }
  });
  afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

  /** The script's setup (all before its first `# ---` section) followed by the named sections. */
  function steps(script: string, titles: string[]): string {
    const [setup, ...sections] = script.split(/^(?=# --- )/m);
    return setup + titles.map((title) => {
      const section = sections.find((candidate) => candidate.startsWith(`# --- ${title} `));
      if (!section) throw new Error(`provision.sh has no section "${title}"`);
      return section;
    }).join('');
  }

  function run(state: { sshServiceActive?: boolean; sshdConfigInvalid?: boolean; ufwFails?: boolean } = {}) {
    if (state.sshServiceActive) writeFileSync(path.join(sandbox, 'active', 'ssh.service'), '');
    if (state.sshdConfigInvalid) writeFileSync(path.join(sandbox, 'sshd-config-invalid'), '');
    if (state.ufwFails) writeFileSync(path.join(sandbox, 'ufw-fails'), '');
    const script = path.join(sandbox, 'steps.sh');
    writeFileSync(script, steps(provision(), ['sshd on the custom port', "host firewall: the security group's ports"]));
    const result = spawnSync('bash', [script], {
      env: { PATH: `${path.join(sandbox, 'bin')}:${process.env.PATH}`, SANDBOX: sandbox },
      encoding: 'utf8',
    });
    const calls = readFileSync(path.join(sandbox, 'calls'), 'utf8').split('\n').filter(Boolean)
      // The setup's throwaway GnuPG home.
      .filter((call) => !/^install -m 0700 -d .*\/gnupg$/.test(call));
    return { status: result.status, stderr: result.stderr, calls, active: (unit: string) => existsSync(path.join(sandbox, 'active', unit)) };
  }

  const SSH_STEPS = ['install -d -m 0755 /run/sshd', 'sshd -t', 'systemctl daemon-reload', 'systemctl stop ssh.service', 'systemctl restart ssh.socket'];
  const FIREWALL_STEPS = [
    'ufw --force reset',
    'ufw default deny incoming',
    'ufw default allow outgoing',
    'ufw allow proto tcp to any port 40022 comment ssh',
    'ufw allow proto tcp to any port 18789 comment clawdbot',
    'ufw allow proto tcp to any port 443 comment clawdbot',
    'ufw --force enable',
    'systemctl enable fail2ban',
    'systemctl restart fail2ban',
  ];

  it('moves sshd to its port on a first boot nobody has connected to yet, then enables the firewall with that port open', () => {
    const boot = run();
    expect({ status: boot.status, stderr: boot.stderr }).toEqual({ status: 0, stderr: '' });
    expect(boot.calls).toEqual([...SSH_STEPS, ...FIREWALL_STEPS]);
    expect(boot.active('ssh.socket')).toBe(true);
  });

  it('also when a connection during boot already started ssh.service', () => {
    const boot = run({ sshServiceActive: true });
    expect(boot.status).toBe(0);
    expect(boot.calls).toEqual([...SSH_STEPS, ...FIREWALL_STEPS]);
    expect(boot.active('ssh.socket')).toBe(true);
  });

  it('stops before touching the listening socket when the sshd config is invalid', () => {
    const boot = run({ sshdConfigInvalid: true });
    expect(boot.status).not.toBe(0);
    expect(boot.stderr).toContain('Bad configuration option');
    expect(boot.calls).toEqual(['install -d -m 0755 /run/sshd', 'sshd -t']);
  });

  it('never enables a firewall that is missing a rule', () => {
    const boot = run({ ufwFails: true });
    expect(boot.status).not.toBe(0);
    expect(boot.calls).not.toContain('ufw --force enable');
    expect(boot.calls.at(-1)).toBe('ufw allow proto tcp to any port 40022 comment ssh');
  });
});

describe('templates', () => {
  it('refuse a placeholder without a value', () => {
    expect(() => renderTemplate('provision.sh', {})).toThrow('template provision.sh: no value for {{ sshPort }}');
  });

  it('refuse values no placeholder uses', () => {
    const values = {
      sshPort: 1,
      publicPorts: '',
      deployUser: '',
      dataVolumeId: '',
      dataMount: '',
      hostDirs: '',
      cloudwatchAgentUrl: '',
      cloudwatchAgentConfigPath: '',
      sysctlFile: '',
    };
    expect(() => renderTemplate('provision.sh', values)).not.toThrow();
    expect(() => renderTemplate('provision.sh', { ...values, sshPortt: 2 })).toThrow('template provision.sh: values not used: sshPortt');
  });

  it('quote shell values so they stay one word', () => {
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
    expect(shellQuote(2222)).toBe("'2222'");
  });
});
