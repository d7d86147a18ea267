import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_LAYOUT, HOST_PATHS, PORTS, ROUTES } from '../../app/src/contract';
import { runOverSsh } from '../../components/scripts/ssh';
import { deployRelease } from './harness/deploy';
import { startEchoModel, type EchoModel } from './harness/echo-model';
import { NETWORK, PhaseTimer, S3_REGIONS, startEnvironment, type E2eEnvironment, type S3RegionName } from './harness/environment';
import { waitFor } from './harness/exec';
import { buildAppImage } from './harness/images';
import { API_KEY, awsS3, BOT_ENVIRONMENT, dataManifest, hostPath, prepareHost, PROXY, SETTINGS } from './harness/stack';

// What survives what, on real hosts (network namespace, sshd, Podman behind the Docker API):
// a replaced host that gets the data volume back, Redis in a backup and a restore, and the
// two-region drill that docs/disaster-recovery.md's RPO and RTO come from. Needs root.

jest.setTimeout(30 * 60_000);

const BACKUP_PREFIX = 'e2e-recovery';
/** The rebuilt stack's own backup bucket, in the replica region. */
const REBUILT_BUCKET = 'clawdbot-e2e-rebuilt';
/**
 * docs/disaster-recovery.md, "RPO and RTO": from a fresh host answering SSH to the bot serving
 * the restored data (readiness, settings, tools, restore on boot, ship, activate) takes at most
 * this long. The EC2 launch and cloud-init come on top.
 */
const RUNBOOK_RTO_SECONDS = 300;
/** Redis keys that live shorter than this (rate-limit windows) are not state worth comparing. */
const DURABLE_TTL_MS = 10 * 60_000;

const timer = new PhaseTimer();
let env: E2eEnvironment;
let model: EchoModel;
let imageId = '';

const ssh = (command: string) => runOverSsh(env.host.ssh, command);
const dataDir = () => hostPath(env.host, HOST_PATHS.data);

/** What cloud-init writes on an AWS host in `region`, plus the endpoint of that region's S3 server. */
function backupSettings(region: S3RegionName, bucket: string = S3_REGIONS[region].bucket): Record<string, string> {
  return { BACKUP_BUCKET: bucket, BACKUP_PREFIX, BACKUP_RETENTION_DAYS: '30', AWS_REGION: S3_REGIONS[region].region, BACKUP_S3_ENDPOINT: env.s3In(region).endpoint };
}

const s3 = (region: S3RegionName, ...args: string[]) => awsS3(env.s3In(region), S3_REGIONS[region].region, ...args);

async function objectKeys(region: S3RegionName, bucket: string): Promise<string[]> {
  return (JSON.parse(await s3(region, 's3api', 'list-objects-v2', '--bucket', bucket, '--query', 'Contents[].Key', '--output', 'json')) as string[] | null) ?? [];
}

/**
 * What S3 replication does for prod's replica bucket (components/shared/backupReplica.ts): every
 * object under the same key with its metadata (the sha256 a restore checks), and deletions. S3
 * does it within minutes of each upload; here it runs when called.
 */
async function replicate(): Promise<void> {
  const source = S3_REGIONS.primary.bucket;
  const target = S3_REGIONS.replica.bucket;
  const present = new Set(await objectKeys('replica', target));
  const wanted = await objectKeys('primary', source);
  const dir = mkdtempSync(path.join(env.runDir, 'replication-'));
  for (const [index, key] of wanted.filter((key) => !present.has(key)).entries()) {
    const file = path.join(dir, String(index));
    const { Metadata } = JSON.parse(await s3('primary', 's3api', 'get-object', '--bucket', source, '--key', key, file)) as { Metadata?: Record<string, string> };
    await s3('replica', 's3api', 'put-object', '--bucket', target, '--key', key, '--body', file, '--metadata', JSON.stringify(Metadata ?? {}));
  }
  for (const key of [...present].filter((key) => !wanted.includes(key))) await s3('replica', 's3api', 'delete-object', '--bucket', target, '--key', key);
}

async function deploy(): Promise<void> {
  await deployRelease(env.host.ssh, env.builder.env, path.join(env.runDir, 'image.tar.gz'), {
    imageId,
    proxy: PROXY,
    settings: SETTINGS,
    environment: { ...BOT_ENVIRONMENT, MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: model.endpoint, MODEL_API_KEY: 'e2e-model-key', MODEL_NAME: 'e2e-echo' },
  });
}

async function chat(message: string, sessionId?: string): Promise<string> {
  const response = await fetch(`http://${env.host.address}:${PORTS.gateway}${ROUTES.chat}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message, sessionId }),
  });
  const body = (await response.json()) as { sessionId: string; reply: string };
  expect({ status: response.status, reply: body.reply }).toEqual({ status: 200, reply: `heard: ${message}` });
  return body.sessionId;
}

/** The user messages the model got with the latest turn, the turn's own last. */
function historySentWithLastTurn(): string[] {
  return (model.requests.at(-1) ?? []).filter((message) => message.role === 'user').map((message) => message.content);
}

/** sha256 of Redis's DUMP of every key that outlives DURABLE_TTL_MS (sessions, cache, IM inbox), by key. */
async function redisDumps(): Promise<Record<string, string>> {
  const script = `redis-cli --scan | sort | while read -r key; do
  ttl=$(redis-cli PTTL "$key")
  if [ "$ttl" -eq -1 ] || [ "$ttl" -gt ${DURABLE_TTL_MS} ]; then printf '%s %s\\n' "$(redis-cli --raw DUMP "$key" | sha256sum | cut -c1-64)" "$key"; fi
done`;
  const lines = (await ssh(`docker exec clawdbot-redis sh -c '${script.replace(/'/g, `'\\''`)}'`)).stdout.trim().split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((line) => [line.slice(65), line.slice(0, 64)]));
}

function conversationsText(): string {
  const dir = path.join(dataDir(), DATA_LAYOUT.conversations);
  return readdirSync(dir).map((file) => readFileSync(path.join(dir, file), 'utf8')).join('');
}

async function waitServing(): Promise<void> {
  await waitFor('the bot to serve', async () => (await fetch(`http://${env.host.address}:${PORTS.gateway}${ROUTES.health}`)).status === 200, 60_000);
}

beforeAll(async () => {
  env = await startEnvironment(timer);
  model = await startEchoModel(NETWORK.ciAddress);
  imageId = await timer.time('app image (app/Dockerfile on the stand-in base)', () => buildAppImage(env.builder.env, 'localhost/clawdbot-e2e/app:recovery'));
});

afterAll(async () => {
  await model?.close();
  await env?.stop();
  console.log(timer.report());
});

let sessionId = '';

test('a replaced host gets the data volume back: conversations and Redis byte-identical, and the session goes on', async () => {
  const first = await prepareHost(env.host, 1, backupSettings('primary'));
  expect(first.restoreOnBoot.stdout).toMatch(/no backup yet/);
  await timer.time('first deploy', deploy);
  sessionId = await chat('first question');
  await chat('second question', sessionId);
  expect(historySentWithLastTurn()).toEqual(['first question', 'second question']);

  // `pulumi up --replace`: the old instance is stopped before its volume is detached
  // (stopInstanceBeforeDetaching). A shutdown stops the containers as `docker stop` does.
  await ssh('docker stop clawdbot');
  const dumps = await redisDumps();
  expect(Object.keys(dumps)).toContainEqual(expect.stringContaining(sessionId));
  await ssh('docker ps -q | xargs -r docker stop');
  const manifest = dataManifest(dataDir());
  expect(Object.keys(manifest).filter((file) => file.startsWith(`${DATA_LAYOUT.conversations}/`))).not.toEqual([]);
  // No backup carries any of it: only the volume can.
  expect(await objectKeys('primary', S3_REGIONS.primary.bucket)).toEqual([]);

  await timer.time('replace the host, re-attaching its data volume', () => env.replaceHost({ dataVolume: env.host.rootDir }));
  const second = await prepareHost(env.host, 2, backupSettings('primary'));
  expect(second.restoreOnBoot.stdout).toMatch(/already ran/);
  expect(dataManifest(dataDir())).toEqual(manifest);
  await timer.time('deploy on the replacement', deploy);
  expect(await redisDumps()).toEqual(dumps);

  await chat('third question', sessionId);
  expect(historySentWithLastTurn()).toEqual(['first question', 'second question', 'third question']);
});

test('Redis is in the backup and the restore: wipe the data dir and Redis, restore, every key byte-identical', async () => {
  await ssh('docker stop clawdbot');
  const dumps = await redisDumps();
  const manifest = dataManifest(dataDir());
  const backup = await timer.time('backup', () => ssh(HOST_PATHS.backupCommand));
  expect(backup.stdout).toMatch(/backed up to s3:\/\//);

  await ssh(`docker stop clawdbot-redis && rm -rf ${HOST_PATHS.data} && find ${HOST_PATHS.redisData} -mindepth 1 -delete && docker start clawdbot-redis`);
  expect(await redisDumps()).toEqual({});
  const restore = await timer.time('restore (data and Redis)', () => ssh(`${HOST_PATHS.restoreCommand} latest`));
  expect(restore.stdout).toContain(`restored Redis's files into ${HOST_PATHS.redisData}`);
  expect(await redisDumps()).toEqual(dumps);
  expect(dataManifest(dataDir())).toEqual(manifest);

  await ssh('docker start clawdbot');
  await waitServing();
  await chat('fourth question', sessionId);
  expect(historySentWithLastTurn()).toEqual(['first question', 'second question', 'third question', 'fourth question']);
});

test('two regions: lose the first, rebuild from the replica; what the last backup holds comes back, what came after is lost (RPO), within the runbook\'s RTO', async () => {
  // The last backup before the region goes.
  await ssh('docker stop clawdbot');
  const atBackup = { dumps: await redisDumps(), manifest: dataManifest(dataDir()) };
  await ssh(HOST_PATHS.backupCommand);
  await ssh('docker start clawdbot');
  await waitServing();
  // After it: a turn of the old session and a new session.
  await chat('after the backup', sessionId);
  const lateSession = await chat('a session begun after the backup');

  await timer.time('replication to the replica region', replicate);
  expect(await objectKeys('replica', S3_REGIONS.replica.bucket)).toEqual(await objectKeys('primary', S3_REGIONS.primary.bucket));
  await env.loseRegion('primary');
  await s3('replica', 's3', 'mb', `s3://${REBUILT_BUCKET}`);

  // The rebuilt stack lives in the replica region: its own backups there, restoring from the replica.
  await timer.time('a fresh host in the replica region (netns, sshd, podman)', () => env.replaceHost());
  const started = process.hrtime.bigint();
  const rebuilt = await timer.time('RTO: fresh host answering SSH → restored and serving', async () => {
    const prepared = await prepareHost(env.host, 3, { ...backupSettings('replica', REBUILT_BUCKET), RESTORE_BUCKET: S3_REGIONS.replica.bucket, RESTORE_PREFIX: BACKUP_PREFIX });
    console.log(`[e2e]   steps: ${prepared.durations.join(', ')}`);
    await deploy();
    await waitServing();
    return prepared;
  });
  const rtoSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  expect(rebuilt.restoreOnBoot.stdout).toContain(`restored s3://${S3_REGIONS.replica.bucket}/${BACKUP_PREFIX}/`);
  expect(rtoSeconds).toBeLessThan(RUNBOOK_RTO_SECONDS);

  // RPO: exactly what the last backup held.
  expect(await redisDumps()).toEqual(atBackup.dumps);
  expect(dataManifest(dataDir())).toEqual(atBackup.manifest);
  expect(Object.keys(atBackup.dumps).some((key) => key.includes(lateSession))).toBe(false);
  expect(conversationsText()).not.toMatch(/after the backup/);
  await chat('fifth question', sessionId);
  expect(historySentWithLastTurn()).toEqual(['first question', 'second question', 'third question', 'fourth question', 'fifth question']);

  // The rebuilt stack backs up into its own bucket.
  expect((await ssh(HOST_PATHS.backupCommand)).stdout).toContain(`s3://${REBUILT_BUCKET}/${BACKUP_PREFIX}/`);
});
