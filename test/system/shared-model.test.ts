import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startRedis, type TestRedis } from './helpers/redis';

// Replicas on one Redis share the model choice: a switch on one reaches the others through
// pub/sub, and a replica started later comes up on it. Keys stay out of Redis.

let redis: TestRedis;
let fake: FakeLLM;
const gateways: TestGateway[] = [];

const env = () => ({
  REDIS_URL: redis.url,
  MODEL_PROVIDER: 'openai',
  MODEL_NAME: 'fake-configured',
  MODEL_API_KEY: 'sk-replica-key-0123456789',
  MODEL_ENDPOINT: fake.url,
  ROUTING: 'llm',
  CACHE_TTL_SECONDS: '0',
  CLAWDBOT_ADMIN_TOKEN: 'admin-token-0123456789',
  CLAWDBOT_API_KEYS: 'client-key-0123456789',
});

async function replica(): Promise<TestGateway> {
  const gateway = await startGateway(env());
  gateways.push(gateway);
  return gateway;
}

const admin = (gateway: TestGateway, init: RequestInit = {}) =>
  fetch(`${gateway.url}/admin/model`, { ...init, headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' } });

async function servedModel(gateway: TestGateway): Promise<string> {
  return ((await (await admin(gateway)).json()) as { model: { name: string } }).model.name;
}

async function completionModel(gateway: TestGateway): Promise<string> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'which model?' }] }),
  });
  expect(response.status).toBe(200);
  return fake.completions().at(-1)!.body.model as string;
}

beforeAll(async () => {
  redis = await startRedis();
  fake = await startFakeOpenAI();
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await fake?.close();
  await redis?.stop();
});

describe('the model choice shared by replicas', () => {
  it('a switch on one replica reaches the others, and a later replica starts on it', async () => {
    const [first, second] = [await replica(), await replica()];
    expect(await completionModel(second)).toBe('fake-configured');

    const switched = await admin(first, { method: 'PUT', body: JSON.stringify({ name: 'fake-switched' }) });
    expect(switched.status).toBe(200);
    const startedAt = Date.now();
    while ((await servedModel(second)) !== 'fake-switched') await sleep(20);
    console.log(`the other replica served the switched model after ${Date.now() - startedAt} ms`);
    expect(await completionModel(second)).toBe('fake-switched');

    const later = await replica();
    expect(await servedModel(later)).toBe('fake-switched');
    expect(await completionModel(later)).toBe('fake-switched');
    // The other replicas' calls run on their own key: none came from Redis.
    expect(fake.completions().at(-1)!.headers.authorization).toBe('Bearer sk-replica-key-0123456789');
  }, 60_000);

  it('refuses a key given at switch time, naming apiKey, and keeps serving the current model', async () => {
    const [gateway] = gateways;
    const before = await servedModel(gateway);
    const response = await admin(gateway, { method: 'PUT', body: JSON.stringify({ name: 'fake-other', apiKey: 'sk-switch-time-key-0123' }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { param: string; message: string } };
    expect(body.error.param).toBe('apiKey');
    expect(body.error.message).toMatch(/REDIS_URL or REDIS_SENTINELS/);
    expect(await servedModel(gateway)).toBe(before);
  }, 30_000);
});
