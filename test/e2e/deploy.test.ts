import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { DATA_LAYOUT, HOST_PATHS, LOG_FILES, PORTS, ROUTES } from '../../app/src/contract';
import { installToolsCommand } from '../../components/scripts/install-tools';
import { RELEASE_FILES, rollbackCommand } from '../../components/scripts/release';
import { SLOT_PORTS } from '../../components/scripts/render';
import { restoreOnBootCommand } from '../../components/scripts/restore-on-boot';
import { waitForHostCommand, type Platform } from '../../components/scripts/wait-for-host';
import { renderEnvFile } from '../../components/scripts/write-env';
import { runOverSsh, StepFailed } from '../../components/scripts/ssh';
import { deployRelease, type ReleaseInput, type ShippedRelease } from './harness/deploy';
import { BACKUP_BUCKET, NETWORK, PhaseTimer, S3_REGIONS, startEnvironment, type E2eEnvironment } from './harness/environment';
import { run, waitFor } from './harness/exec';
import { buildAppImage, buildFrom } from './harness/images';
import { LoadLoop, type LoadResult } from './harness/load';
import { API_KEY, awsS3, BOT_ENVIRONMENT, dataManifest, hostId, hostPath, PLATFORM, prepareHost, PROXY, SETTINGS } from './harness/stack';

// The deployment's rendered steps, run in order over real SSH against a test host (network
// namespace, sshd, Podman behind the Docker API): ship and activate, a zero-downtime redeploy
// under load, a broken release that leaves the old one serving, rollback, the host lock,
// backup → wipe → restore, and a disaster-recovery run on a fresh host. Needs root.

jest.setTimeout(40 * 60_000);

const BACKUP_PREFIX = 'e2e-stack';
const REPO_ROOT = path.join(__dirname, '..', '..');
const REMOVE_FROM_HOST = path.join(REPO_ROOT, 'components', 'scripts', 'remove-from-host.ts');
const PROXY_CONTAINER = 'clawdbot-caddy';

const timer = new PhaseTimer();
let env: E2eEnvironment;
const images = { v1: '', v2: '', broken: '' };
const releases = { v1: '', v2: '' };
const activations = { v1: '', v2: '' };

const baseUrl = (): string => `http://${env.host.address}:${PORTS.gateway}`;
const ssh = (command: string, stdin?: string) => runOverSsh(env.host.ssh, command, { stdin });
const release = (imageId: string): ReleaseInput => ({ imageId, proxy: PROXY, settings: SETTINGS, environment: BOT_ENVIRONMENT });
async function deploy(imageId: string, configDir?: string): Promise<ShippedRelease> {
  const shipped = await deployRelease(env.host.ssh, env.builder.env, path.join(env.runDir, 'image.tar.gz'), { ...release(imageId), configDir });
  console.log(`[e2e]   steps: ${shipped.durations.map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`).join(', ')}`);
  return shipped;
}

async function servingImage(): Promise<string> {
  return (await ssh(`docker inspect --format '{{.Image}}' clawdbot`)).stdout.trim().replace(/^sha256:/, '');
}

/** The names of every bot container on the host, running or not. */
async function botContainers(): Promise<string> {
  return (await ssh(`docker ps -a --filter label=com.docker.compose.service=clawdbot --format '{{.Names}}'`)).stdout.trim();
}

async function underLoad<T>(work: () => Promise<T>): Promise<{ result: T | Error; load: LoadResult }> {
  const loop = new LoadLoop(baseUrl(), API_KEY);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = await work().catch((error: Error) => error);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const load = await loop.stop();
  if (load.failed > 0) console.log(`[e2e] the proxy's last log lines:\n${(await ssh(`docker logs --tail 40 ${PROXY_CONTAINER} 2>&1`)).stdout}`);
  return { result, load };
}

function expectNoFailedRequests(load: LoadResult): void {
  expect(load.failures).toEqual([]);
  expect(load.failed).toBe(0);
  expect(load.ok).toBeGreaterThan(20);
}

/** What cloud-init writes on an AWS host, plus the endpoint of the local S3 server. */
function backupEnvironment(): Record<string, string> {
  return { BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_RETENTION_DAYS: '30', AWS_REGION: S3_REGIONS.primary.region, BACKUP_S3_ENDPOINT: env.s3.endpoint };
}

const s3 = (...args: string[]): Promise<string> => awsS3(env.s3, S3_REGIONS.primary.region, ...args);

async function backupKeys(): Promise<string[]> {
  const listed = await s3('s3api', 'list-objects-v2', '--bucket', BACKUP_BUCKET, '--prefix', `${BACKUP_PREFIX}/`, '--query', 'Contents[].Key', '--output', 'text');
  return listed.split(/\s+/).filter((key) => key.endsWith('.tar.gz'));
}

function tlsHandshake(maxVersion: tls.SecureVersion): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: env.host.address, port: PORTS.https, servername: 'localhost', rejectUnauthorized: false, maxVersion }, () => {
      resolve(socket.getProtocol() ?? '');
      socket.end();
    });
    socket.once('error', reject);
  });
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: env.host.address, port, timeout: 3000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

beforeAll(async () => {
  env = await startEnvironment(timer);
  await timer.time('app image (app/Dockerfile on the stand-in base) and its variants', async () => {
    images.v1 = await buildAppImage(env.builder.env, 'localhost/clawdbot-e2e/app:1');
    images.v2 = await buildFrom(env.builder.env, env.runDir, 'localhost/clawdbot-e2e/app:2', 'FROM localhost/clawdbot-e2e/app:1\nLABEL org.clawdbot.e2e.release="2"\n');
    images.broken = await buildFrom(
      env.builder.env,
      env.runDir,
      'localhost/clawdbot-e2e/app:broken',
      'FROM localhost/clawdbot-e2e/app:1\nENTRYPOINT ["node", "-e", "console.error(\'deliberately broken release: exiting at start\'); process.exit(1)"]\nCMD []\n',
    );
  });
  const size = await run('docker', ['image', 'inspect', '--format', '{{.Size}}', images.v1], { env: env.builder.env });
  console.log(`[e2e] app image: ${(Number(size) / 1e6).toFixed(0)} MB`);
});

afterAll(async () => {
  await env?.stop();
  console.log(timer.report());
});

test('the host gets ready and receives the backup and restore tools', async () => {
  await timer.time('readiness and host tools', async () => {
    const ready = await ssh(waitForHostCommand(PLATFORM));
    expect(ready.stdout).toMatch(/docker .*compose/i);
    await ssh(installToolsCommand(hostId(1), SETTINGS));
  });
  const tools = await ssh(`stat -c '%a %n' ${HOST_PATHS.backupCommand} ${HOST_PATHS.restoreCommand}`);
  expect(tools.stdout.trim().split('\n')).toEqual([`755 ${HOST_PATHS.backupCommand}`, `755 ${HOST_PATHS.restoreCommand}`]);
});

test('readiness refuses a host whose CPU is not the image\'s', async () => {
  const other: Platform = PLATFORM === 'linux/amd64' ? 'linux/arm64' : 'linux/amd64';
  await expect(ssh(waitForHostCommand(other))).rejects.toThrow(`the image is built for ${other}, but this host is`);
});

test('1. ship, load and activate: /health answers at the host address', async () => {
  const shipped = await timer.time('1. ship, load, activate (first release)', () => deploy(images.v1));
  releases.v1 = shipped.plan.release;
  activations.v1 = shipped.plan.activate;
  expect(shipped.hostHadImage).toBe(false);
  expect(shipped.activateOutput).toContain(`release ${releases.v1} is live`);

  const health = await fetch(`${baseUrl()}${ROUTES.health}`);
  expect(health.status).toBe(200);
  expect(await health.text()).toBe('{"status":"healthy"}');
  expect(await servingImage()).toBe(images.v1.replace(/^sha256:/, ''));

  // The env file is the secrets' only home on the host: 0600, and never in a release's files.
  expect((await ssh(`stat -c %a ${HOST_PATHS.envFile}`)).stdout.trim()).toBe('600');
  expect((await ssh(`grep -rl ${API_KEY} ${HOST_PATHS.releases} || true`)).stdout).toBe('');
  // `docker exec clawdbot modelctl` reaches the active container.
  expect((await ssh('docker exec clawdbot modelctl status')).stdout).toMatch(/rules/);
});

test('the published ports match the security design', async () => {
  // 18789 and 443 public; TLS 1.3 only on 443.
  expect(await tlsHandshake('TLSv1.3')).toBe('TLSv1.3');
  await expect(tlsHandshake('TLSv1.2')).rejects.toThrow();
  // Metrics on the host's loopback only; the bot's slots on theirs; Redis not published at all.
  const metrics = await ssh(`curl -fsS http://127.0.0.1:${PORTS.metrics}${ROUTES.metrics}`);
  expect(metrics.stdout).toMatch(/^clawdbot_/m);
  for (const port of [PORTS.metrics, SLOT_PORTS.gateway, SLOT_PORTS.metrics, 6379]) expect(await tcpConnects(port)).toBe(false);
});

test('the bot sees the client\'s address through the proxy, and logs to the host\'s log dir', async () => {
  const accessLog = path.join(hostPath(env.host, HOST_PATHS.logs), LOG_FILES.access);
  // The client is the CI end of the veth pair; the proxy's connection comes from the edge network's gateway.
  const { load } = await underLoad(() => new Promise((resolve) => setTimeout(resolve, 2000)));
  expectNoFailedRequests(load);
  await waitFor('access.log lines from the load', async () => existsSync(accessLog) && readFileSync(accessLog, 'utf8').includes('"route":"/api/chat"'), 20_000);
  const lines = readFileSync(accessLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { ip: string; route: string });
  expect(new Set(lines.filter((line) => line.route === '/api/chat').map((line) => line.ip))).toEqual(new Set([NETWORK.ciAddress]));
  // None of it in the data dir, so none of it in a data backup.
  expect(existsSync(path.join(hostPath(env.host, HOST_PATHS.data), DATA_LAYOUT.logs, LOG_FILES.access))).toBe(false);
});

test('2. a changed image replaces the old one under steady load with zero failed requests', async () => {
  const { result, load } = await timer.time('2. redeploy a changed image under load', () => underLoad(() => deploy(images.v2)));
  if (result instanceof Error) throw result;
  releases.v2 = result.plan.release;
  activations.v2 = result.plan.activate;
  expectNoFailedRequests(load);
  console.log(`[e2e] redeploy under load: ${load.ok} requests, ${load.failed} failed`);
  expect(await servingImage()).toBe(images.v2.replace(/^sha256:/, ''));
  // The old release's container drained and went; one bot container is left.
  expect(await botContainers()).toBe('clawdbot');
});

test('shipping an image the host already has transfers an empty archive', async () => {
  const { result, load } = await underLoad(() => deploy(images.v2));
  if (result instanceof Error) throw result;
  expect(result.hostHadImage).toBe(true);
  expect(result.plan.release).toBe(releases.v2);
  expectNoFailedRequests(load);
});

test('3. a broken release fails its health check, shows its logs, and the old one keeps serving', async () => {
  const { result, load } = await timer.time('3. deploy a broken release', () => underLoad(() => deploy(images.broken)));
  expect(result).toBeInstanceOf(StepFailed);
  const output = `${(result as StepFailed).stdout}${(result as StepFailed).stderr}`;
  expect(output).toContain('deliberately broken release: exiting at start');
  expect(output).toMatch(/keeps serving/);
  expectNoFailedRequests(load);
  expect(await servingImage()).toBe(images.v2.replace(/^sha256:/, ''));
  expect((await ssh(`cut -d' ' -f1 ${HOST_PATHS.releases}/history`)).stdout.trim().split('\n')).toEqual([releases.v1, releases.v2]);
});

test('npm run rollback returns to the previous release, then to a named one, without dropping a request', async () => {
  // The stack as the Pulumi CLI would show it after `pulumi up`: its rollbackTarget output and
  // its sshPrivateKey secret (test/e2e/harness/pulumi-stand-in.sh answers for the CLI).
  const stackDir = path.join(env.runDir, 'stack');
  const cliDir = path.join(stackDir, 'bin');
  mkdirSync(path.join(stackDir, 'config'), { recursive: true });
  mkdirSync(cliDir, { recursive: true });
  copyFileSync(path.join(__dirname, 'harness', 'pulumi-stand-in.sh'), path.join(cliDir, 'pulumi'));
  const rollbackTarget = { host: env.host.ssh.host, port: env.host.ssh.port, user: env.host.ssh.user, hostKey: env.host.ssh.hostKey, keepReleases: SETTINGS.keepReleases, healthTimeoutSeconds: SETTINGS.healthTimeoutSeconds };
  writeFileSync(path.join(stackDir, 'outputs.json'), JSON.stringify({ rollbackTarget, adminToken: BOT_ENVIRONMENT.CLAWDBOT_ADMIN_TOKEN }));
  writeFileSync(path.join(stackDir, 'outputs-masked.json'), JSON.stringify({ rollbackTarget, adminToken: '[secret]' }));
  writeFileSync(path.join(stackDir, 'config', 'clawdbot:sshPrivateKey.json'), JSON.stringify({ value: env.host.ssh.privateKey, secret: true }));
  const rollback = (...release: string[]) =>
    run('npm', ['run', '--silent', 'rollback', '--', 'e2e', ...release], {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: `${cliDir}:${process.env.PATH}`, CLAWDBOT_E2E_STACK_DIR: stackDir },
    });

  const back = await timer.time('rollback to the previous release under load', () => underLoad(() => rollback()));
  if (back.result instanceof Error) throw back.result;
  expect(back.result).toContain(`rolling back to ${releases.v1}`);
  expectNoFailedRequests(back.load);
  expect(await servingImage()).toBe(images.v1.replace(/^sha256:/, ''));

  const named = await underLoad(() => rollback(releases.v2));
  if (named.result instanceof Error) throw named.result;
  expectNoFailedRequests(named.load);
  expect(await servingImage()).toBe(images.v2.replace(/^sha256:/, ''));

  await expect(rollback('r000000000000')).rejects.toThrow(/release r000000000000 is not kept on this host/);
});

test('the host lock keeps a second deploy from interleaving', async () => {
  const holder = ssh(`flock ${HOST_PATHS.root} sleep 5`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await expect(ssh(rollbackCommand(releases.v1, { ...SETTINGS, lockTimeoutSeconds: 1 }))).rejects.toThrow(`holds the lock on ${HOST_PATHS.root}`);
  await holder;
  expect(await servingImage()).toBe(images.v2.replace(/^sha256:/, ''));
});

test('two deploys at once wait for each other instead of interleaving', async () => {
  const finished: string[] = [];
  const activate = (command: string, name: string) => ssh(command).then((result) => (finished.push(name), result.stdout));
  const { result, load } = await underLoad(async () => {
    const first = activate(activations.v1, 'v1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    return Promise.all([first, activate(activations.v2, 'v2')]);
  });
  if (result instanceof Error) throw result;
  expectNoFailedRequests(load);
  // Each ran whole: the second waited for the lock, and started its slot only after the first finished.
  expect(finished).toEqual(['v1', 'v2']);
  expect(result[0]).not.toContain('waiting for another deploy');
  expect(result[1]).toMatch(/waiting for another deploy, rollback or restore to finish[\s\S]*starting release/);
  for (const [output, release] of [[result[0], releases.v1], [result[1], releases.v2]]) expect(output).toContain(`release ${release} is live`);
  expect((await ssh(`cut -d' ' -f1 ${HOST_PATHS.releases}/history`)).stdout.trim().split('\n').slice(-2)).toEqual([releases.v1, releases.v2]);
  expect(await servingImage()).toBe(images.v2.replace(/^sha256:/, ''));
  expect(await botContainers()).toBe('clawdbot');
});

test('a changed Caddyfile reloads the proxy without dropping a request; one the proxy refuses leaves its config as it was', async () => {
  const header = 'x-clawdbot-e2e-proxy';
  /** The repository's release files, with the Caddyfile's :18789 site edited. */
  const configDir = (name: string, siteLine: string): string => {
    const dir = path.join(env.runDir, name);
    for (const file of Object.values(RELEASE_FILES)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      const edited = file === RELEASE_FILES.caddyfile ? text.replace(':18789 {\n', `:18789 {\n\t${siteLine}\n`) : text;
      if (file === RELEASE_FILES.caddyfile) expect(edited).not.toBe(text);
      writeFileSync(path.join(dir, file), edited);
    }
    return dir;
  };
  const proxyHeader = async (): Promise<string | null> => (await fetch(`${baseUrl()}${ROUTES.health}`)).headers.get(header);
  const caddyDir = hostPath(env.host, path.join(HOST_PATHS.root, 'caddy'));
  const hostCaddyfile = (): string => readFileSync(path.join(caddyDir, 'Caddyfile'), 'utf8');
  expect(await proxyHeader()).toBeNull();

  // The drain before a reload: while caddy/draining exists, keep-alive clients are told to close.
  const keepAlive = new http.Agent({ keepAlive: true });
  const connectionHeader = () =>
    new Promise<string | undefined>((resolve, reject) => {
      http.get(`${baseUrl()}${ROUTES.health}`, { agent: keepAlive }, (response) => resolve(response.resume().headers.connection)).on('error', reject);
    });
  writeFileSync(path.join(caddyDir, 'draining'), '');
  expect(await connectionHeader()).toBe('close');
  rmSync(path.join(caddyDir, 'draining'));
  expect(await connectionHeader()).not.toBe('close');
  keepAlive.destroy();

  const changed = await underLoad(() => deploy(images.v2, configDir('caddyfile-changed', `header ${header} changed`)));
  if (changed.result instanceof Error) throw changed.result;
  expectNoFailedRequests(changed.load);
  expect(changed.result.hostHadImage).toBe(true);
  expect(changed.result.plan.release).not.toBe(releases.v2);
  expect(await proxyHeader()).toBe('changed');
  const liveCaddyfile = hostCaddyfile();

  const refused = await underLoad(() => deploy(images.v2, configDir('caddyfile-refused', 'no_such_directive')));
  expect(refused.result).toBeInstanceOf(StepFailed);
  const output = `${(refused.result as StepFailed).stdout}${(refused.result as StepFailed).stderr}`;
  expect(output).toContain('no_such_directive');
  expect(output).toMatch(/the proxy refused the Caddyfile of release r[0-9a-f]{12} and keeps its own[\s\S]*keeps serving/);
  expectNoFailedRequests(refused.load);
  expect(await proxyHeader()).toBe('changed');
  expect(hostCaddyfile()).toBe(liveCaddyfile);
  expect(existsSync(path.join(caddyDir, 'draining'))).toBe(false);
  expect(await botContainers()).toBe('clawdbot');

  // Back to the repository's files: the release the earlier tests shipped.
  const back = await underLoad(() => deploy(images.v2));
  if (back.result instanceof Error) throw back.result;
  expectNoFailedRequests(back.load);
  expect(back.result.plan.release).toBe(releases.v2);
  expect(await proxyHeader()).toBeNull();
});

test('a reload of the proxy resets no connection waiting to be accepted', async () => {
  // Caddy binds a new SO_REUSEPORT listener at each reload and closes the old one: without the
  // host's kernel settings (components/single-host/templates/sysctl.conf) the connections in the
  // old one's queue were reset. Each request opens its own connection, as every client does
  // while the proxy drains keep-alive connections before a reload.
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const request = () =>
    new Promise<void>((resolve) => {
      const fail = (message: string) => {
        failures.push(message);
        resolve();
      };
      http
        .get(`${baseUrl()}${ROUTES.health}`, { agent: false }, (response) => {
          response.on('error', (error) => fail(error.message));
          response.resume().on('end', () => (response.statusCode === 200 ? (ok++, resolve()) : fail(`status ${response.statusCode}`)));
        })
        .on('error', (error) => fail(error.message));
    });
  const clients = Array.from({ length: 16 }, async () => {
    while (running) await request();
  });
  // Back to back inside the container: a reload a `docker exec` apart left the race too rare to see.
  const reload = 'caddy reload --force --config /etc/caddy/Caddyfile --adapter caddyfile --address unix//config/admin.sock';
  await ssh(`docker exec ${PROXY_CONTAINER} sh -ec 'for i in $(seq 20); do ${reload}; done'`);
  running = false;
  await Promise.all(clients);
  console.log(`[e2e] 20 proxy reloads under new connections: ${ok} requests, ${failures.length} failed`);
  expect(failures).toEqual([]);
  expect(ok).toBeGreaterThan(100);
});

let backedUp: Record<string, string> = {};

test('4. back up to S3, wipe the data, restore: the data is byte-identical', async () => {
  const dataDir = hostPath(env.host, HOST_PATHS.data);
  // The FAQ and a model file beside the conversations the load loops left.
  writeFileSync(path.join(dataDir, DATA_LAYOUT.faq), JSON.stringify([{ question: 'e2e?', answer: 'restored', keywords: ['e2e'] }]));
  writeFileSync(path.join(dataDir, 'model-e2e.bin'), createHash('sha512').update('model').digest());
  writeFileSync(hostPath(env.host, HOST_PATHS.backupEnv), renderEnvFile(backupEnvironment()));
  // A backup past retention (the job prunes it), and the bot stopped so that the data holds
  // still to compare.
  const stale = path.join(env.runDir, 'stale.tar.gz');
  writeFileSync(stale, 'a backup past retention');
  await s3('s3', 'cp', stale, `s3://${BACKUP_BUCKET}/${BACKUP_PREFIX}/2020/01/01/clawdbot-20200101T000000Z.tar.gz`);
  await ssh('docker stop clawdbot');
  backedUp = dataManifest(dataDir);
  expect(Object.keys(backedUp).some((file) => file.startsWith(`${DATA_LAYOUT.conversations}/`))).toBe(true);

  const backup = await timer.time('4a. backup', () => ssh(HOST_PATHS.backupCommand));
  expect(backup.stdout).toMatch(/backed up to s3:\/\//);
  const keys = await backupKeys();
  expect(keys).toHaveLength(1);
  expect(keys[0]).toMatch(new RegExp(`^${BACKUP_PREFIX}/\\d{4}/\\d{2}/\\d{2}/clawdbot-\\d{8}T\\d{6}Z\\.tar\\.gz$`));

  // The archive: data and config, never secrets.
  const archive = path.join(env.runDir, 'backup.tar.gz');
  await s3('s3', 'cp', `s3://${BACKUP_BUCKET}/${keys[0]}`, archive);
  const members = (await run('tar', ['-tzf', archive])).split('\n');
  expect(members).toEqual(expect.arrayContaining(['config/compose.yaml', 'config/Caddyfile', `data/${DATA_LAYOUT.faq}`]));
  expect(members.filter((member) => member.startsWith(`data/${path.dirname(DATA_LAYOUT.generatedApiKey)}`))).toEqual([]);
  expect((await run('sh', ['-c', 'gunzip -c "$0" | grep -c "$1" || true', archive, API_KEY])).trim()).toBe('0');

  rmSync(dataDir, { recursive: true, force: true });
  const restore = await timer.time('4b. restore (latest)', () => ssh(`${HOST_PATHS.restoreCommand} latest`));
  expect(restore.stdout).toContain(`restored s3://${BACKUP_BUCKET}/${keys[0]}`);
  expect(dataManifest(dataDir)).toEqual(backedUp);

  // A named backup, over data that is there: that data is moved aside, not lost.
  writeFileSync(path.join(dataDir, DATA_LAYOUT.faq), '[]');
  const named = await ssh(`${HOST_PATHS.restoreCommand} ${keys[0]}`);
  expect(named.stdout).toMatch(/the previous data is in \S+data\.before-restore-\d{8}T\d{6}Z/);
  expect(dataManifest(dataDir)).toEqual(backedUp);
  const setAside = readdirSync(hostPath(env.host, HOST_PATHS.root)).filter((entry) => entry.startsWith('data.before-restore-'));
  expect(setAside.map((entry) => readFileSync(path.join(hostPath(env.host, HOST_PATHS.root), entry, DATA_LAYOUT.faq), 'utf8'))).toEqual(['[]']);
  await expect(ssh(`${HOST_PATHS.restoreCommand} ${BACKUP_PREFIX}/2020/01/01/clawdbot-20200101T000000Z.tar.gz`)).rejects.toThrow(/no backup s3:\/\//);

  await ssh('docker start clawdbot');
  await expect(fetch(`${baseUrl()}${ROUTES.health}`).then((response) => response.status)).resolves.toBe(200);
});

test('5. disaster recovery: a new stack on a fresh host restores the lost one\'s latest backup before the bot starts', async () => {
  await timer.time('5a. a fresh test host (netns, sshd, podman)', () => env.replaceHost());
  const recovered = await timer.time('5b. fresh host: readiness, tools, restore on boot, ship, activate', async () => {
    // A new stack backs up under its own prefix and restores from the lost stack's.
    const prepared = await prepareHost(env.host, 2, { ...backupEnvironment(), BACKUP_PREFIX: `${BACKUP_PREFIX}-rebuilt`, RESTORE_PREFIX: BACKUP_PREFIX });
    console.log(`[e2e]   steps: ${prepared.durations.join(', ')}`);
    // Restored before the bot ever started: byte for byte what was backed up.
    expect(dataManifest(hostPath(env.host, HOST_PATHS.data))).toEqual(backedUp);
    const shipped = await deploy(images.v2);
    return { restored: prepared.restoreOnBoot, shipped };
  });
  expect(recovered.restored.stdout).toMatch(/restored s3:\/\//);
  const health = await fetch(`${baseUrl()}${ROUTES.health}`);
  expect(health.status).toBe(200);
  const faq = await fetch(`${baseUrl()}${ROUTES.chat}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'e2e' }),
  });
  expect(((await faq.json()) as { reply: string }).reply).toContain('restored');
  expect((await ssh(`stat -c %a ${HOST_PATHS.backupEnv}`)).stdout.trim()).toBe('600');
  // Once per host: a later run leaves the data alone.
  expect((await ssh(restoreOnBootCommand('latest', SETTINGS))).stdout).toMatch(/already ran/);
  // The new stack's own backups go under its own prefix.
  expect((await ssh(HOST_PATHS.backupCommand)).stdout).toContain(`s3://${BACKUP_BUCKET}/${BACKUP_PREFIX}-rebuilt/`);
});

test('deleting the deployment stops the services and keeps the data, and tolerates a host that is gone', async () => {
  // What the Deployment's teardown step runs where Pulumi runs.
  const teardown = (host: string, port: number, id = hostId(2)) =>
    run('npx', ['tsx', REMOVE_FROM_HOST], {
      env: {
        ...process.env,
        CLAWDBOT_SSH_HOST: host,
        CLAWDBOT_SSH_PORT: String(port),
        CLAWDBOT_SSH_USER: env.host.ssh.user,
        CLAWDBOT_SSH_PRIVATE_KEY: env.host.ssh.privateKey,
        CLAWDBOT_SSH_HOST_KEY: env.host.ssh.hostKey,
        CLAWDBOT_HOST_ID: id,
      },
    });
  // The deletion step of the replaced host's deployment, reaching the address its successor now has.
  expect(await teardown(env.host.address, env.host.ssh.port, hostId(1))).toMatch(/belongs to deployment .*#2, not .*#1; leaving it alone/);
  expect((await fetch(`${baseUrl()}${ROUTES.health}`)).status).toBe(200);
  expect(await teardown(env.host.address, env.host.ssh.port)).toMatch(/stopped clawdbot; data kept/);
  expect((await ssh(`docker ps -aq --filter label=com.docker.compose.project`)).stdout.trim()).toBe('');
  expect(await tcpConnects(PORTS.gateway)).toBe(false);
  expect(Object.keys(dataManifest(hostPath(env.host, HOST_PATHS.data))).length).toBeGreaterThan(0);
  // Nothing left to stop, then no SSH server at all.
  expect(await teardown(env.host.address, env.host.ssh.port)).toMatch(/stopped clawdbot/);
  expect(await teardown('127.0.0.1', await closedPort())).toMatch(/unreachable .*ECONNREFUSED.*nothing left to stop/);
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
