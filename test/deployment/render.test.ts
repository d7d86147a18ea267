import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CONTAINER_DATA_DIR, DATA_LAYOUT, HOST_PATHS, PORTS } from '../../app/src/contract';
import { authorizeKeyCommand } from '../../components/scripts/authorize-key';
import { planRelease } from '../../components/scripts/plan';
import { backupSettings } from '../../components/scripts/backup-settings';
import { renderBackupUnits } from '../../components/scripts/install-backup-timer';
import { installToolsCommand } from '../../components/scripts/install-tools';
import { isOnCalendar } from '../../components/scripts/on-calendar';
import { activateCommand, RELEASE_FILES, releaseId } from '../../components/scripts/release';
import { abbreviateSteps, asCommand, DEFAULT_HOST_STEP_SETTINGS, EDGE_NETWORK, renderScript, REPO_ROOT, shellQuote, SLOT_PORTS } from '../../components/scripts/render';
import { waitForHostCommand } from '../../components/scripts/wait-for-host';
import { renderEnvFile } from '../../components/scripts/write-env';

// The renderers of the host steps and the host's compose file and Caddyfile they ship.

const IMAGE = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';

describe('renderEnvFile', () => {
  test('writes one KEY=value line per variable, literally', () => {
    expect(renderEnvFile({ MODEL_NAME: 'qwen-plus', CLAWDBOT_API_KEYS: 'a-b_c.d,e#f', EMPTY: '' })).toBe('MODEL_NAME=qwen-plus\nCLAWDBOT_API_KEYS=a-b_c.d,e#f\nEMPTY=\n');
  });

  test.each([
    ['a line break', 'first\nsecond'],
    ['a dollar sign', 'pa$word'],
    ['a backslash', 'a\\b'],
    ['a leading quote', '"quoted"'],
    ['an inline comment', 'value #comment'],
    ['surrounding spaces', ' padded '],
  ])('refuses a value with %s, naming the variable but not the value', (_, value) => {
    let message = '';
    try {
      renderEnvFile({ MODEL_API_KEY: value });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^environment\.MODEL_API_KEY: /);
    expect(message).not.toContain(value);
  });

  test('refuses a name that is not a variable name', () => {
    expect(() => renderEnvFile({ 'MODEL-KEY': 'x' })).toThrow('environment: "MODEL-KEY" is not a valid variable name');
  });
});

describe('shellQuote', () => {
  test.each(["plain", "it's", "a'b'c", 'spaces and $dollar `tick` "double"', ''])('bash reads %j back unchanged', (value) => {
    expect(execFileSync('bash', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
  });
});

describe('rendered steps', () => {
  test('carry the host layout of app/src/contract.ts as their parameters', () => {
    const script = renderScript('activate', { RELEASE: 'r1' });
    expect(script).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(script).toContain("set -euo pipefail\n");
    expect(script).toContain(`CLAWDBOT_ROOT='${HOST_PATHS.root}'\nDATA_DIR='${HOST_PATHS.data}'\nRELEASES_DIR='${HOST_PATHS.releases}'\nLOGS_DIR='${HOST_PATHS.logs}'`);
    expect(script).toContain(`METRICS_PORT='${PORTS.metrics}'\nSLOT_GATEWAY_PORT='${SLOT_PORTS.gateway}'`);
    expect(script).toContain(`BACKUP_ENV='${HOST_PATHS.backupEnv}'`);
    expect(script).toContain(`EDGE_SUBNET='${EDGE_NETWORK.subnet}'\nEDGE_GATEWAY='${EDGE_NETWORK.gateway}'`);
  });

  test('readiness refuses a host whose CPU is not the image\'s', () => {
    expect(waitForHostCommand('linux/amd64')).toContain("PLATFORM='linux/amd64'\nMACHINE='x86_64'");
    expect(waitForHostCommand('linux/arm64')).toContain("PLATFORM='linux/arm64'\nMACHINE='aarch64'");
    expect(waitForHostCommand('linux/amd64')).toContain('[ "$machine" = "$MACHINE" ] || die');
  });

  test('read in a plan as their parameters, their code as one line with its hash', () => {
    const command = activateCommand('r1', { domain: 'bot.example.com' });
    const abbreviated = abbreviateSteps(command);
    expect(abbreviated).toContain("RELEASE='r1'\nDOMAIN='bot.example.com'");
    expect(abbreviated).toMatch(/\n# lib\/ \+ activate\.sh \(components\/scripts\/\), sha256 [0-9a-f]{12}\n+CLAWDBOT_STEP\n$/);
    expect(abbreviated).not.toContain('activate_release() {');
    // The tools inside the tools step, each its own line.
    expect(abbreviateSteps(installToolsCommand('i-1')).match(/^# lib\/ \+ (\S+)/gm)).toEqual(['# lib/ + install-tools.sh', '# lib/ + backup.sh', '# lib/ + restore.sh']);
  });

  test('run from fd 3, leaving stdin to the step', () => {
    expect(asCommand('echo hi')).toBe("bash /dev/fd/3 3<<'CLAWDBOT_STEP'\necho hi\nCLAWDBOT_STEP\n");
    expect(() => asCommand('echo\nCLAWDBOT_STEP\nrm -rf /')).toThrow(/CLAWDBOT_STEP/);
  });

  test('the tools step installs the backup job and the restore command from here-documents', () => {
    const command = installToolsCommand('i-0123456789abcdef0');
    expect(command).toContain("HOST_ID='i-0123456789abcdef0'");
    expect(command).toContain("install_tool backup <<'CLAWDBOT_TOOL'\n#!/usr/bin/env bash\n# clawdbot backup:");
    expect(command).toContain("install_tool restore <<'CLAWDBOT_TOOL'\n#!/usr/bin/env bash\n# clawdbot restore:");
  });

  test('activation takes its settings from the deployment', () => {
    const command = activateCommand('r1', { domain: 'bot.example.com' }, { ...DEFAULT_HOST_STEP_SETTINGS, keepReleases: 3, healthTimeoutSeconds: 45 });
    expect(command).toContain("KEEP_RELEASES='3'\nHEALTH_TIMEOUT_SECONDS='45'");
    expect(command).toContain("DOMAIN='bot.example.com'");
    // Without a domain, Caddy's 443 site is localhost (internal CA) and the bot is served on 18789.
    expect(activateCommand('r1', {})).toContain("DOMAIN='localhost'");
  });
});

describe('the authorized-key step', () => {
  it('leaves exactly the configured key in authorized_keys, mode 0600, replacing any other', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'authorize-key-'));
    try {
      mkdirSync(path.join(home, '.ssh'));
      appendFileSync(path.join(home, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAAold old@laptop\n');
      const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBKnew new@laptop';
      const output = execFileSync('bash', ['-c', authorizeKeyCommand(key)], { env: { ...process.env, HOME: home }, encoding: 'utf8' });
      expect(readFileSync(path.join(home, '.ssh', 'authorized_keys'), 'utf8')).toBe(`${key}\n`);
      expect(statSync(path.join(home, '.ssh', 'authorized_keys')).mode & 0o777).toBe(0o600);
      expect(output).toContain('authorized_keys holds the one key ssh-ed25519');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('backup settings', () => {
  test('name the bucket, prefix, retention and region, then what differs for restores, then a key where there is no role', () => {
    const location = { bucket: 'clawdbot-dev-backups', prefix: 'clawdbot-dev/', region: 'ap-southeast-1' };
    expect(backupSettings({ location, retentionDays: 7 })).toEqual({
      BACKUP_BUCKET: 'clawdbot-dev-backups',
      BACKUP_PREFIX: 'clawdbot-dev/',
      BACKUP_RETENTION_DAYS: '7',
      AWS_REGION: 'ap-southeast-1',
    });
    expect(
      backupSettings({ location, retentionDays: 7, restoreFrom: { prefix: 'clawdbot-prod' }, credentials: { accessKeyId: 'AKIA0', secretAccessKey: 'secret0' } }),
    ).toMatchObject({ RESTORE_PREFIX: 'clawdbot-prod', AWS_ACCESS_KEY_ID: 'AKIA0', AWS_SECRET_ACCESS_KEY: 'secret0' });
    expect(backupSettings({ location, retentionDays: 7, restoreFrom: { prefix: 'clawdbot-prod' } })).not.toHaveProperty('RESTORE_BUCKET');
  });
});

describe('the backup timer', () => {
  test.each(['daily', 'hourly', '*-*-* 03:00:00', 'Mon..Fri 01:30', 'Sat,Sun 10:00:00.5', '*:0/15', '*-02~01 04:00', 'daily Asia/Shanghai', '2030-01-01'])(
    'takes the OnCalendar expression %p',
    (schedule) => {
      expect(isOnCalendar(schedule)).toBe(true);
      expect(renderBackupUnits(schedule)['clawdbot-backup.timer']).toContain(`\nOnCalendar=${schedule}\n`);
    },
  );

  test.each(['', 'tomorrow', 'hourly ', '25:00', '*-*-* 3', 'Fri..Mon', '*-13-01', 'daily\nExecStart=/bin/sh', 'daily; rm -rf /'])('refuses %p', (schedule) => {
    expect(isOnCalendar(schedule)).toBe(false);
    expect(() => renderBackupUnits(schedule)).toThrow(`backup schedule ${JSON.stringify(schedule)} is not a systemd OnCalendar expression`);
  });

  test('runs the installed job with the backup settings, once the deployment installed it', () => {
    const service = renderBackupUnits('daily')['clawdbot-backup.service'];
    expect(service).toContain(`\nEnvironmentFile=${HOST_PATHS.backupEnv}\nExecStart=${HOST_PATHS.backupCommand}\n`);
    expect(service).toContain(`\nConditionPathExists=${HOST_PATHS.backupCommand}\n`);
    expect(renderBackupUnits('daily')['clawdbot-backup.timer']).toContain('\nPersistent=true\n');
  });
});

describe('releaseId', () => {
  test('is the same for the same image and config, and differs when either changes', () => {
    const id = releaseId(IMAGE, { domain: 'bot.example.com' });
    expect(id).toMatch(/^r[0-9a-f]{12}$/);
    expect(releaseId(IMAGE, { domain: 'bot.example.com' })).toBe(id);
    expect(releaseId(IMAGE.replace(/1$/, '2'), { domain: 'bot.example.com' })).not.toBe(id);
    expect(releaseId(IMAGE, { domain: 'chat.example.com' })).not.toBe(id);
    expect(releaseId(IMAGE, { domain: 'bot.example.com', caddyImage: 'mirror.example.cn/caddy:2.10-alpine' })).not.toBe(id);
  });

  test('differs when a config file changes', () => {
    const configDir = mkdtempSync(path.join(tmpdir(), 'release-config-'));
    for (const file of Object.values(RELEASE_FILES)) {
      mkdirSync(path.dirname(path.join(configDir, file)), { recursive: true });
      copyFileSync(path.join(REPO_ROOT, file), path.join(configDir, file));
    }
    expect(releaseId(IMAGE, {}, configDir)).toBe(releaseId(IMAGE, {}));
    appendFileSync(path.join(configDir, RELEASE_FILES.caddyfile), '# edited\n');
    expect(releaseId(IMAGE, {}, configDir)).not.toBe(releaseId(IMAGE, {}));
    rmSync(configDir, { recursive: true });
  });
});

describe('planRelease', () => {
  test('ships the config files and the archive into the release dir', () => {
    const plan = planRelease({ imageId: IMAGE, proxy: {}, settings: DEFAULT_HOST_STEP_SETTINGS, localArchive: '/tmp/bot.tar.gz' });
    const dir = `${HOST_PATHS.releases}/${plan.release}`;
    expect(plan.configFiles).toEqual([
      { source: path.join(REPO_ROOT, RELEASE_FILES.compose), remotePath: `${dir}/compose.yaml` },
      { source: path.join(REPO_ROOT, RELEASE_FILES.caddyfile), remotePath: `${dir}/Caddyfile` },
    ]);
    expect(plan.remoteArchive).toBe(`${dir}/image.tar.gz`);
    expect(plan.loadImage).toContain(`ARCHIVE='${dir}/image.tar.gz'`);
    expect(plan.saveImage('present\n')).toContain("HOST_HAS_IMAGE='present'");
  });
});

describe('app/compose.yaml', () => {
  const compose = parse(readFileSync(path.join(REPO_ROOT, RELEASE_FILES.compose), 'utf8')) as {
    services: Record<string, { container_name?: string; ports?: string[]; volumes?: string[]; networks?: unknown; network_mode?: string; env_file?: string; environment?: Record<string, string> }>;
    networks: Record<string, { name: string; external: boolean }>;
  };
  const slotAddress = '${CLAWDBOT_SLOT_ADDRESS:?CLAWDBOT_SLOT_ADDRESS is set by the deploy step}';

  test('runs the bot as "clawdbot" with the data dir and the env file from HOST_PATHS', () => {
    const bot = compose.services.clawdbot;
    expect(bot.container_name).toBe('clawdbot');
    expect(bot.volumes).toEqual([`${HOST_PATHS.data}:${CONTAINER_DATA_DIR}`, `${HOST_PATHS.logs}:${CONTAINER_DATA_DIR}/${DATA_LAYOUT.logs}`]);
    expect(bot.env_file).toBe(HOST_PATHS.envFile);
    expect(bot.environment?.REDIS_URL).toBe('redis://clawdbot-redis:6379');
  });

  test('trusts X-Forwarded-For from the proxy only, whose address the activation fixes', () => {
    expect(compose.services.clawdbot.environment?.TRUST_PROXY).toBe('${CLAWDBOT_TRUSTED_PROXY:?CLAWDBOT_TRUSTED_PROXY is set by the deploy step}');
    const activate = activateCommand('r1', {});
    expect(activate).toContain('CLAWDBOT_TRUSTED_PROXY="$EDGE_GATEWAY"');
    expect(activate).toContain('docker network create --subnet "$EDGE_SUBNET" --gateway "$EDGE_GATEWAY" "$EDGE_NETWORK"');
    expect(compose.networks.edge).toEqual({ name: 'clawdbot-edge', external: true });
  });

  test('publishes the bot only on its slot loopback address, for the proxy', () => {
    expect(compose.services.clawdbot.ports).toEqual([`${slotAddress}:${SLOT_PORTS.gateway}:${PORTS.gateway}`, `${slotAddress}:${SLOT_PORTS.metrics}:${PORTS.metrics}`]);
  });

  test('runs the proxy on the host network with the Caddyfile and the hosts file the deploy writes', () => {
    const caddy = compose.services.caddy;
    expect(caddy.network_mode).toBe('host');
    expect(caddy.ports).toBeUndefined();
    expect(caddy.volumes).toEqual(expect.arrayContaining([`${HOST_PATHS.root}/caddy:/etc/caddy:ro`, `${HOST_PATHS.root}/caddy/hosts:/etc/hosts:ro`]));
  });

  test('keeps Redis on the back-end network only, unpublished', () => {
    expect(compose.services.redis.ports).toBeUndefined();
    expect(compose.services.redis.networks).toEqual(['backend']);
    expect(compose.networks.backend).toEqual({ name: 'clawdbot-backend', external: true });
    // The deploy step creates that network internal: no way out of the host.
    expect(readFileSync(path.join(__dirname, '..', '..', 'components', 'scripts', 'lib', 'release.sh'), 'utf8')).toContain('docker network create --internal "$BACKEND_NETWORK"');
  });
});

describe('app/Caddyfile', () => {
  const caddyfile = readFileSync(path.join(REPO_ROOT, RELEASE_FILES.caddyfile), 'utf8');

  test('serves 18789 and the domain (TLS 1.3 only) from the live slot', () => {
    expect(caddyfile).toMatch(new RegExp(`^:${PORTS.gateway} \\{\\n\\timport clawdbot_gateway\\n\\}`, 'm'));
    expect(caddyfile).toMatch(/^\{\$CLAWDBOT_DOMAIN\} \{\n\ttls \{\n\t\tprotocols tls1\.3\n\t\}\n\timport clawdbot_gateway\n\}/m);
    expect(caddyfile).toContain(`dynamic a clawdbot-active ${SLOT_PORTS.gateway} {`);
  });

  test('serves the metrics on the host loopback only', () => {
    expect(caddyfile).toMatch(new RegExp(`^:${PORTS.metrics} \\{\\n\\tbind 127\\.0\\.0\\.1\\n`, 'm'));
    expect(caddyfile).toContain(`dynamic a clawdbot-active ${SLOT_PORTS.metrics} {`);
  });

  test('finds the live slot under the name the activation writes', () => {
    expect(activateCommand('r1', {})).toContain('%s clawdbot-active\\n');
  });
});
