import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CONTAINER_DATA_DIR, HOST_PATHS, PORTS } from '../../app/src/contract';
import { planRelease } from '../../components/scripts/plan';
import {
  activateCommand,
  asCommand,
  DEFAULT_HOST_STEP_SETTINGS,
  HOST_FILES,
  installToolsCommand,
  RELEASE_FILES,
  releaseId,
  renderEnvFile,
  renderScript,
  shellQuote,
  SLOT_PORTS,
} from '../../components/scripts/render';

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
    expect(script).toContain(`CLAWDBOT_ROOT='${HOST_PATHS.root}'\nDATA_DIR='${HOST_PATHS.data}'\nRELEASES_DIR='${HOST_PATHS.releases}'`);
    expect(script).toContain(`METRICS_PORT='${PORTS.metrics}'\nSLOT_GATEWAY_PORT='${SLOT_PORTS.gateway}'`);
    expect(script).toContain(`BACKUP_ENV='${HOST_FILES.backupEnv}'`);
    expect(HOST_FILES.backupCommand).toBe(`${HOST_PATHS.bin}/backup`);
  });

  test('run from fd 3, leaving stdin to the step', () => {
    expect(asCommand('echo hi')).toBe("bash /dev/fd/3 3<<'CLAWDBOT_STEP'\necho hi\nCLAWDBOT_STEP\n");
    expect(() => asCommand('echo\nCLAWDBOT_STEP\nrm -rf /')).toThrow(/CLAWDBOT_STEP/);
  });

  test('the tools step installs the backup job and the restore command from here-documents', () => {
    const command = installToolsCommand();
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

describe('releaseId', () => {
  test('is the same for the same image and config, and differs when either changes', () => {
    const id = releaseId(IMAGE, { domain: 'bot.example.com' });
    expect(id).toMatch(/^r[0-9a-f]{12}$/);
    expect(releaseId(IMAGE, { domain: 'bot.example.com' })).toBe(id);
    expect(releaseId(IMAGE.replace(/1$/, '2'), { domain: 'bot.example.com' })).not.toBe(id);
    expect(releaseId(IMAGE, { domain: 'chat.example.com' })).not.toBe(id);
    expect(releaseId(IMAGE, { domain: 'bot.example.com', caddyImage: 'mirror.example.cn/caddy:2.10-alpine' })).not.toBe(id);
  });
});

describe('planRelease', () => {
  test('ships the config files and the archive into the release dir', () => {
    const plan = planRelease({ imageId: IMAGE, proxy: {}, settings: DEFAULT_HOST_STEP_SETTINGS, localArchive: '/tmp/bot.tar.gz' });
    const dir = `${HOST_PATHS.releases}/${plan.release}`;
    expect(plan.configFiles).toEqual([
      { source: RELEASE_FILES.compose, remotePath: `${dir}/compose.yaml` },
      { source: RELEASE_FILES.caddyfile, remotePath: `${dir}/Caddyfile` },
    ]);
    expect(plan.remoteArchive).toBe(`${dir}/image.tar.gz`);
    expect(plan.loadImage).toContain(`ARCHIVE='${dir}/image.tar.gz'`);
    expect(plan.saveImage('present\n')).toContain("HOST_HAS_IMAGE='present'");
  });
});

describe('app/compose.yaml', () => {
  const compose = parse(readFileSync(RELEASE_FILES.compose, 'utf8')) as {
    services: Record<string, { container_name?: string; ports?: string[]; volumes?: string[]; networks?: unknown; network_mode?: string; env_file?: string; environment?: Record<string, string> }>;
    networks: Record<string, { name: string; external: boolean }>;
  };
  const slotAddress = '${CLAWDBOT_SLOT_ADDRESS:?CLAWDBOT_SLOT_ADDRESS is set by the deploy step}';

  test('runs the bot as "clawdbot" with the data dir and the env file from HOST_PATHS', () => {
    const bot = compose.services.clawdbot;
    expect(bot.container_name).toBe('clawdbot');
    expect(bot.volumes).toEqual([`${HOST_PATHS.data}:${CONTAINER_DATA_DIR}`]);
    expect(bot.env_file).toBe(HOST_PATHS.envFile);
    expect(bot.environment?.REDIS_URL).toBe('redis://clawdbot-redis:6379');
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
    expect(readFileSync(path.join(__dirname, '..', '..', 'components', 'scripts', 'lib.sh'), 'utf8')).toContain('docker network create --internal "$BACKEND_NETWORK"');
  });
});

describe('app/Caddyfile', () => {
  const caddyfile = readFileSync(RELEASE_FILES.caddyfile, 'utf8');

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
