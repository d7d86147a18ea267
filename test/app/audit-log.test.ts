import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DATA_LAYOUT } from '../../app/src/contract';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { spawnGateway, type SpawnedGateway } from '../helpers/gateway';

// audit.log must hold every action the gateway acknowledged, even when the process is killed
// the moment after: each record is on disk before its answer leaves.

let fake: FakeFeishu;
let gw: SpawnedGateway;
/** Kept by the test, so that the logs outlive the killed gateway. */
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeFeishu();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-audit-'));
  gw = await spawnGateway(feishuEnv(fake, { CLAWDBOT_DATA_DIR: dataDir, CLAWDBOT_ADMIN_TOKEN: 'admin-token-for-the-audit-test' }));
}, 120_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  await fake?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function admin(method: 'GET' | 'PUT', token: string, body?: unknown): Promise<Response> {
  return fetch(`${gw.url}/admin/model`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

function feishu(delivery: { body: string; headers: Record<string, string> }): Promise<Response> {
  return fetch(`${gw.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
}

describe('audit.log after a SIGKILL', () => {
  it('holds a record of every audited action acknowledged before the kill', async () => {
    const acknowledged = [
      await admin('GET', gw.adminToken),
      await admin('GET', 'not-the-admin-token-at-all'),
      await admin('PUT', gw.adminToken, { name: 'rules' }),
      await feishu(signedDelivery(messageEvent({ messageId: 'om_audited', text: 'hello' }))),
      await feishu(signedDelivery(messageEvent({ text: 'forged' }), { signature: 'forged' })),
    ];
    expect(acknowledged.map((response) => response.status)).toEqual([200, 401, 200, 200, 401]);
    await gw.stop('SIGKILL');

    const records = fs
      .readFileSync(path.join(dataDir, DATA_LAYOUT.logs, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; method?: string; outcome?: string });
    const messages = records.map((record) => record.msg);
    expect(records.filter((record) => record.msg === 'admin request').map((record) => record.method)).toEqual(['GET', 'PUT']);
    expect(messages).toContain('admin request refused');
    expect(messages).toContain('model switched');
    expect(records.find((record) => record.msg === 'channel message received')?.outcome).toBe('accepted');
    expect(messages).toContain('channel callback refused');
  }, 30_000);
});
