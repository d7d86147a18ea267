import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DATA_LAYOUT } from '../../app/src/contract';
import { buildApp, type SpawnedGateway, spawnGateway } from '../helpers/gateway';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { startRedis, type TestRedis } from './helpers/redis';

// A gateway killed (SIGKILL) while Feishu holds its reply POST: Feishu has taken the reply, the
// gateway never learnt it. The next gateway on the same Redis resumes the message and sends the
// part again; the reply's uuid makes Feishu drop that resend, so the user sees one answer.

const REPLY = /^\/open-apis\/im\/v1\/messages\/[^/]+\/reply$/;

let redis: TestRedis;
let fake: FakeFeishu;
let dataDir: string;
const gateways: SpawnedGateway[] = [];

beforeAll(async () => {
  buildApp();
  redis = await startRedis();
  fake = await startFakeFeishu();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-crash-'));
}, 120_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop('SIGKILL');
  await fake?.close();
  await redis?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<SpawnedGateway> {
  const gateway = await spawnGateway({ ...feishuEnv(fake), REDIS_URL: redis.url, CLAWDBOT_DATA_DIR: dataDir });
  gateways.push(gateway);
  // Ready once Redis is connected: a delivery before that would be refused with a 503.
  while ((await fetch(`${gateway.url}/ready`)).status !== 200) await sleep(100);
  return gateway;
}

/** Polls audit.log (written synchronously) until `message` appears. */
async function waitForAudit(message: string): Promise<void> {
  const file = path.join(dataDir, DATA_LAYOUT.logs, 'audit.log');
  while (!(fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(message))) await sleep(100);
}

describe('Feishu reply after a crash while sending', () => {
  it('a SIGKILL between the reply and its sent marker ends with one message', async () => {
    const release = fake.hold(REPLY);
    const first = await start();
    const delivery = signedDelivery(messageEvent({ messageId: 'om_crash_1', text: 'hello' }));
    const ack = await fetch(`${first.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
    expect(ack.status).toBe(200);

    await fake.waitFor(REPLY);
    await first.stop('SIGKILL');
    release(); // Feishu takes the reply the dead gateway sent
    await fake.waitUntil(() => fake.delivered.length === 1);

    await start();
    // The lease of the dead worker lapses, the sweep resumes the message and resends the part.
    const attempts = await fake.waitFor(REPLY, 2);
    await waitForAudit('channel message answered');
    expect(attempts.map((request) => request.body.uuid)).toEqual([attempts[0].body.uuid, attempts[0].body.uuid]);
    expect(fake.delivered).toHaveLength(1);
  }, 90_000);
});
