import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTECTION_MINUTES } from '../../app/src/channels/in-flight';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { startGateway, type TestGateway } from '../helpers/gateway';

// On ECS, the gateway protects its task from scale-in while it handles IM messages and lifts
// the protection once idle: a fake ECS agent records the calls.

const REPLY = /^\/open-apis\/im\/v1\/messages\/[^/]+\/reply$/;

interface FakeAgent {
  uri: string;
  calls: Array<{ method: string; path: string; body: unknown }>;
  close(): Promise<void>;
}

async function startFakeAgent(): Promise<FakeAgent> {
  const calls: FakeAgent['calls'] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      calls.push({ method: request.method ?? '', path: request.url ?? '', body: JSON.parse(body) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"protection":{}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { uri: `http://127.0.0.1:${port}/v3/task-id`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('ECS task scale-in protection', () => {
  let feishu: FakeFeishu;
  let agent: FakeAgent;
  let gateway: TestGateway | undefined;

  beforeAll(async () => {
    feishu = await startFakeFeishu();
    agent = await startFakeAgent();
  });

  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  afterAll(async () => {
    await feishu?.close();
    await agent?.close();
  });

  const deliver = (messageId: string) => {
    const delivery = signedDelivery(messageEvent({ messageId, text: 'hello' }));
    return fetch(`${gateway!.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
  };

  it('is on while a message is being answered and off once the gateway is idle', async () => {
    gateway = await startGateway({ ...feishuEnv(feishu), ECS_AGENT_URI: agent.uri });
    const release = feishu.hold(REPLY);
    expect((await deliver('om_protect_1')).status).toBe(200);
    await feishu.waitFor(REPLY);
    await waitUntil(() => agent.calls.length === 1);
    expect(agent.calls[0]).toEqual({
      method: 'PUT',
      path: '/v3/task-id/task-protection/v1/state',
      body: { ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES },
    });

    release();
    await waitUntil(() => agent.calls.length === 2);
    expect(agent.calls[1].body).toEqual({ ProtectionEnabled: false });
    expect(feishu.delivered).toHaveLength(1);
  }, 30_000);

  it('is never called without ECS_AGENT_URI', async () => {
    const before = agent.calls.length;
    gateway = await startGateway(feishuEnv(feishu));
    expect((await deliver('om_protect_2')).status).toBe(200);
    await waitUntil(() => feishu.delivered.length === 2);
    expect(agent.calls).toHaveLength(before);
  }, 30_000);
});
