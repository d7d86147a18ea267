import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { PORTS } from '../../app/src/contract';
import { startFakeOpenAI, type FakeLLM, type RecordedRequest } from '../helpers/fake-llm';
import { type FakeFeishu, feishuEnv, messageEvent, signedDelivery, startFakeFeishu } from '../helpers/fake-feishu';
import { buildApp, spawnGateway, type SpawnedGateway } from '../helpers/gateway';
import { freePort, startRedis, startSentinel, type TestRedis } from '../system/helpers/redis';
import { startHaproxy, type TestHaproxy } from './harness/haproxy';
import { createNetns, type Netns } from './harness/netns';

// Issue 15's proof: three gateway processes, each in a network namespace of its own (a test host
// with its own address, listening on the gateway port), behind HAProxy, on a Redis primary and
// replica watched by Sentinel. HAProxy, Redis, Sentinel and the fake model and Feishu servers run
// on the CI side, on the first namespace's CI address, which every namespace reaches through its
// default route. Under a steady load: one replica is SIGKILLed (mid IM message), the model is
// switched through the load balancer, Redis fails over, IM events are delivered to several
// replicas, and one API key bursts past its limit.

const PRIMARY_NAME = 'clawdbot';
const LOAD_KEY = 'load-client-key-0123456789';
const BURST_KEY = 'burst-client-key-0123456789';
const ADMIN_TOKEN = 'ha-admin-token-0123456789';
/** No request may take longer than this, failover or not. */
const REQUEST_BOUND_MS = 5_000;
const LOAD_CLIENTS = 3;
const LOAD_INTERVAL_MS = 250;
const IM_EVENTS = 6;
const SLOW_TEXT = 'a slow question';
/** `cbr` (clawdbot replicas): names and addresses apart from the deploy and recovery tests' (clawdbot-e2e, 10.123.0.0/24). */
const HOSTS = [1, 2, 3].map((index) => ({ name: `cbr-gw${index}`, ciAddress: `10.124.${index}.1`, hostAddress: `10.124.${index}.2` }));
const CI_ADDRESS = HOSTS[0].ciAddress;

interface Outcome {
  client: number;
  startedAt: number;
  endedAt: number;
  /** 0: no answer (connection failed, or the bound passed). */
  status: number;
  retryAfter: string | null;
  replicaModel?: string;
  error?: string;
}

let dir: string;
const hosts: Netns[] = [];
let primary: TestRedis;
let replica: TestRedis;
let sentinel: TestRedis;
let sentinelClient: Redis;
let llm: FakeLLM;
let feishu: FakeFeishu;
let lb: TestHaproxy;
const gateways: SpawnedGateway[] = [];
const outcomes: Outcome[] = [];
let loadRunning = false;
let loadDone: Promise<void[]> = Promise.resolve([]);

const lastUserText = (request: RecordedRequest): string => String(request.body.messages.at(-1)?.content ?? '');

function gatewayEnv(): Record<string, string> {
  return {
    ...feishuEnv(feishu),
    REDIS_SENTINELS: `${CI_ADDRESS}:${sentinel.port}`,
    REDIS_SENTINEL_NAME: PRIMARY_NAME,
    MODEL_PROVIDER: 'openai',
    MODEL_NAME: 'fake-configured',
    MODEL_API_KEY: 'sk-replica-key-0123456789',
    MODEL_ENDPOINT: llm.url,
    ROUTING: 'llm',
    CACHE_TTL_SECONDS: '0',
    CLAWDBOT_API_KEYS: `${LOAD_KEY},${BURST_KEY}`,
    CLAWDBOT_ADMIN_TOKEN: ADMIN_TOKEN,
  };
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startReplica(host: Netns): Promise<SpawnedGateway> {
  const gateway = await spawnGateway({ ...gatewayEnv(), HOST: host.address, PORT: String(PORTS.gateway) }, { netns: host.path });
  gateways.push(gateway);
  await waitFor('the replica to be ready', async () => (await fetch(`${gateway.url}/ready`)).status === 200);
  return gateway;
}

const chat = (base: string, sessionId: string | undefined, message: string) =>
  fetch(`${base}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${LOAD_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message, ...(sessionId ? { sessionId } : {}) }),
    signal: AbortSignal.timeout(REQUEST_BOUND_MS),
  });

/** One client: a chat turn every LOAD_INTERVAL_MS through the load balancer, in one session. */
async function loadClient(client: number): Promise<void> {
  let sessionId: string | undefined;
  for (let turn = 0; loadRunning; turn++) {
    const startedAt = Date.now();
    const outcome: Outcome = { client, startedAt, endedAt: 0, status: 0, retryAfter: null };
    try {
      const response = await chat(lb.url, sessionId, `client ${client} turn ${turn}`);
      outcome.status = response.status;
      outcome.retryAfter = response.headers.get('retry-after');
      const body = (await response.json()) as { sessionId?: string };
      sessionId ??= body.sessionId;
    } catch (error) {
      const { name, message, cause } = error as Error & { cause?: { code?: string } };
      outcome.error = name === 'TimeoutError' ? 'hung' : `${message} (${cause?.code ?? 'no code'})`;
    }
    outcome.endedAt = Date.now();
    outcomes.push(outcome);
    await sleep(LOAD_INTERVAL_MS);
  }
}

const during = (from: number, to: number) => outcomes.filter((outcome) => outcome.startedAt >= from && outcome.startedAt < to);
const tally = (list: Outcome[]) => ({
  requests: list.length,
  ok: list.filter((o) => o.status === 200).length,
  '503+Retry-After': list.filter((o) => o.status === 503 && o.retryAfter).length,
  'other failures': list.filter((o) => o.status !== 200 && !(o.status === 503 && o.retryAfter)).length,
  'slowest ms': Math.max(0, ...list.map((o) => o.endedAt - o.startedAt)),
});

beforeAll(async () => {
  buildApp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-replicas-'));
  for (const host of HOSTS) hosts.push(await createNetns(host));
  primary = await startRedis(undefined, [], CI_ADDRESS);
  replica = await startRedis(undefined, ['--replicaof', CI_ADDRESS, String(primary.port)], CI_ADDRESS);
  sentinel = await startSentinel(dir, primary.port, PRIMARY_NAME, CI_ADDRESS);
  sentinelClient = new Redis({ host: CI_ADDRESS, port: sentinel.port, lazyConnect: true });
  llm = await startFakeOpenAI({
    host: CI_ADDRESS,
    reply: (request) => (lastUserText(request).includes(SLOW_TEXT) ? { text: 'slow answer', delayMs: 4_000 } : `answer from ${request.body.model}`),
  });
  feishu = await startFakeFeishu(CI_ADDRESS);
  for (const host of hosts) await startReplica(host);
  lb = await startHaproxy(dir, await freePort(), gateways.map((gateway) => gateway.url));
  // The replica is known to Sentinel and in sync, so a failover can pick it.
  await waitFor('Sentinel to see the replica in sync', async () => {
    const replicas = (await sentinelClient.call('SENTINEL', 'REPLICAS', PRIMARY_NAME)) as string[][];
    return replicas.some((fields) => fields.join(' ').includes('master-link-status ok'));
  });
}, 180_000);

afterAll(async () => {
  loadRunning = false;
  await loadDone;
  await Promise.all(gateways.map((gateway) => gateway.stop('SIGKILL')));
  await lb?.stop();
  sentinelClient?.disconnect();
  await Promise.all([sentinel, replica, primary].map((server) => server?.stop()));
  await Promise.all([llm?.close(), feishu?.close()]);
  for (const host of hosts) await host.delete();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('three replicas on network-namespace hosts behind HAProxy on Redis with Sentinel', () => {
  it('act as one through a replica crash, a model switch, a Redis failover and IM retries', async () => {
    loadRunning = true;
    loadDone = Promise.all(Array.from({ length: LOAD_CLIENTS }, (_, client) => loadClient(client)));
    const start = Date.now();
    await sleep(2_000);

    // 1. A slow IM message lands on the third replica, which is SIGKILLed while it waits for the model.
    const [, , doomed] = gateways;
    const slow = signedDelivery(messageEvent({ messageId: 'om_ha_slow', chatId: 'oc_ha_slow', text: SLOW_TEXT }));
    expect((await fetch(`${doomed.url}/api/feishu/callback`, { method: 'POST', headers: slow.headers, body: slow.body })).status).toBe(200);
    await waitFor('the slow message to reach the model', () => llm.completions().some((request) => lastUserText(request).includes(SLOW_TEXT)));
    const killingAt = Date.now();
    await doomed.stop('SIGKILL');
    const killedAt = Date.now();
    await sleep(2_000);

    // 2. The model switch arrives through the load balancer; every replica serves it within 1 s
    // of its answer (the time counted up to the start of the first request the new model answers).
    const switchedAt = Date.now();
    const switched = await fetch(`${lb.url}/admin/model`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fake-switched' }),
    });
    expect(switched.status).toBe(200);
    const switchAnsweredAt = Date.now();
    const living = gateways.slice(0, 2);
    const reachedAfterMs = await Promise.all(
      living.map(async (gateway) => {
        let askedAt = 0;
        await waitFor('the switch to reach a replica', async () => {
          askedAt = Date.now();
          const response = await chat(gateway.url, undefined, 'which model?');
          return ((await response.json()) as { model?: { name: string } }).model?.name === 'fake-switched';
        });
        return askedAt - switchAnsweredAt;
      }),
    );
    // The crashed replica comes back on its host, on the switched model.
    const restarted = await startReplica(hosts[2]);
    const restartedModel = ((await (await chat(restarted.url, undefined, 'which model?')).json()) as { model: { name: string } }).model.name;
    await sleep(1_000);

    // 3. Redis fails over to the replica.
    const failoverAt = Date.now();
    await sentinelClient.call('SENTINEL', 'FAILOVER', PRIMARY_NAME);
    await waitFor('Sentinel to promote the replica', async () => {
      const [, port] = (await sentinelClient.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', PRIMARY_NAME)) as string[];
      return Number(port) === replica.port;
    });
    const promotedAt = Date.now();
    await sleep(6_000);
    const recoveredFrom = promotedAt + 3_000;

    // 4. Each IM event goes to two replicas at once, then to the third (platform retries).
    const replicas = gateways.filter((gateway) => gateway.child.exitCode === null && gateway.child.signalCode === null);
    for (let event = 0; event < IM_EVENTS; event++) {
      const delivery = signedDelivery(messageEvent({ messageId: `om_ha_${event}`, chatId: `oc_ha_${event}`, text: `event ${event}` }));
      const send = (gateway: SpawnedGateway) => fetch(`${gateway.url}/api/feishu/callback`, { method: 'POST', headers: delivery.headers, body: delivery.body });
      const targets = [0, 1, 2].map((offset) => replicas[(event + offset) % replicas.length]);
      const acks = await Promise.all([send(targets[0]), send(targets[1])]);
      acks.push(await send(targets[2]));
      expect(acks.map((ack) => ack.status)).toEqual([200, 200, 200]);
    }
    await feishu.waitUntil(() => feishu.delivered.length >= IM_EVENTS + 1);
    await sleep(2_000); // a duplicate would show by now

    // 5. One key bursts through the load balancer: the limit holds across the replicas together.
    const burstStartedAt = Date.now();
    const burst = await Promise.all(
      Array.from({ length: 150 }, () => fetch(`${lb.url}/v1/models`, { headers: { authorization: `Bearer ${BURST_KEY}` } }).then((response) => response.status)),
    );

    const burstMs = Date.now() - burstStartedAt;
    loadRunning = false;
    await loadDone;

    const repliesPerMessage = new Map<string, number>();
    for (const request of feishu.delivered) {
      const messageId = request.path.split('/')[5];
      repliesPerMessage.set(messageId, (repliesPerMessage.get(messageId) ?? 0) + 1);
    }
    const failedBefore = during(start, killedAt).filter((o) => o.status !== 200);
    const phases = {
      'steady load': tally(during(start, killedAt)),
      'replica SIGKILLed': tally(during(killedAt, switchedAt)),
      'model switch': tally(during(switchedAt, failoverAt)),
      'Redis failover': tally(during(failoverAt, recoveredFrom)),
      'after failover': tally(during(recoveredFrom, Infinity)),
    };
    console.log(
      [
        `load through HAProxy (${LOAD_CLIENTS} clients, a turn every ${LOAD_INTERVAL_MS} ms each):`,
        ...Object.entries(phases).map(([phase, counts]) => `  ${phase.padEnd(18)} ${JSON.stringify(counts)}`),
        `model switch reached the replicas after ${reachedAfterMs.join(' ms, ')} ms; the restarted replica came up on ${restartedModel}`,
        `failed in flight at the SIGKILL: ${JSON.stringify(failedBefore.map((o) => o.error ?? o.status))}`,
        `Sentinel promoted the replica ${promotedAt - failoverAt} ms after SENTINEL FAILOVER`,
        `IM: ${repliesPerMessage.size} messages (each delivered to 3 replicas, one killed mid-message), replies each: ${JSON.stringify(Object.fromEntries(repliesPerMessage))}`,
        `burst of 150 on one key (limit 50/s) in ${burstMs} ms: ${burst.filter((s) => s === 200).length} accepted, ${burst.filter((s) => s === 429).length} refused with 429`,
      ].join('\n'),
    );

    // Only requests in flight on the killed replica may fail; none started after the kill.
    expect(outcomes.filter((o) => o.status !== 200 && o.startedAt >= killedAt && o.startedAt < failoverAt)).toEqual([]);
    expect(failedBefore.filter((o) => o.endedAt < killingAt)).toEqual([]);
    expect(failedBefore.length).toBeLessThanOrEqual(LOAD_CLIENTS);
    expect(Math.max(...reachedAfterMs)).toBeLessThanOrEqual(1_000);
    expect(restartedModel).toBe('fake-switched');
    // During the failover: answers or 503 with Retry-After, none hung; afterwards all answered.
    expect(outcomes.filter((o) => o.error === 'hung')).toEqual([]);
    expect(during(failoverAt, recoveredFrom).filter((o) => o.status !== 200 && !(o.status === 503 && o.retryAfter))).toEqual([]);
    expect(during(recoveredFrom, Infinity).filter((o) => o.status !== 200)).toEqual([]);
    expect(during(recoveredFrom, Infinity).length).toBeGreaterThan(0);
    expect([...repliesPerMessage.values()]).toEqual(Array(IM_EVENTS + 1).fill(1));
    // A limit per process would let all 150 through in a window; a shared one lets 50 a window
    // (windows start at a key's first request, so a burst of under a second meets two at most).
    expect(burst.filter((status) => status === 200).length).toBeLessThanOrEqual(50 * (Math.floor(burstMs / 1000) + 2));
  }, 240_000);
});
