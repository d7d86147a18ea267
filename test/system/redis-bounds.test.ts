import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { parse } from 'yaml';
import type { ChannelAdapter } from '../../app/src/channels/adapter';
import { Inbox } from '../../app/src/channels/inbox';
import { MessagesInFlight } from '../../app/src/channels/in-flight';
import { channelMetrics } from '../../app/src/channels/metrics';
import { RedisStore } from '../../app/src/store/redis';
import { Registry } from 'prom-client';
import pino from 'pino';
import { startRedis, type TestRedis } from './helpers/redis';

const COMPOSE = path.resolve(__dirname, '../../app/compose.yaml');

/** The Redis settings the host runs with (app/compose.yaml), less persistence: `--maxmemory-policy` ... */
function composeMemorySettings(): Map<string, string> {
  const command = parse(fs.readFileSync(COMPOSE, 'utf8')).services.redis.command as string[];
  const settings = new Map<string, string>();
  for (let i = 1; i < command.length; i += 2) settings.set(command[i], command[i + 1]);
  return settings;
}

/** A platform that never finishes answering, so its message stays in flight. */
const stuck: ChannelAdapter<{ text: string }> = {
  channel: 'feishu',
  messageLimit: 1000,
  answer: (_message, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  send: async () => 'reply',
};

describe('Redis bounded as on the host', () => {
  let redis: TestRedis;
  let store: RedisStore;
  beforeAll(async () => {
    const settings = composeMemorySettings();
    expect(settings.get('--maxmemory')).toBe('256mb');
    // The host's policy, with a bound this test can reach in a moment.
    redis = await startRedis(undefined, ['--maxmemory', '4mb', '--maxmemory-policy', settings.get('--maxmemory-policy') as string]);
    store = new RedisStore({ url: redis.url });
  });
  afterAll(async () => {
    await store.close();
    await redis.stop();
  });

  it('evicts sessions to stay within maxmemory, never the IM inbox records: a redelivery is still a duplicate', async () => {
    const logs = { error: pino({ level: 'silent' }), audit: pino({ level: 'silent' }) };
    const inbox = new Inbox(stuck, store, channelMetrics(new Registry()), logs, new MessagesInFlight());
    expect(await inbox.accept('m1', 'chat', { text: 'hello' })).toBe('accepted');

    // 20 MB of sessions into a 4 MB Redis: every write succeeds, the oldest sessions go.
    const turn = 'x'.repeat(10_000);
    for (let i = 0; i < 1000; i++) await store.appendToList(`session:${i}`, [turn, turn], 20, 3600);

    const client = new Redis(redis.url);
    try {
      const info = await client.info('stats');
      expect(Number(/evicted_keys:(\d+)/.exec(info)?.[1])).toBeGreaterThan(0);
      expect(await client.exists('clawdbot:session:0')).toBe(0);
      expect(await client.exists('clawdbot:dedup:feishu:m1', 'clawdbot:lease:dedup:feishu:m1', 'clawdbot:unfinished:feishu')).toBe(3);
    } finally {
      client.disconnect();
    }
    const other = new Inbox(stuck, store, channelMetrics(new Registry()), logs, new MessagesInFlight());
    expect(await other.accept('m1', 'chat', { text: 'hello' })).toBe('duplicate');
    await inbox.close(0);
    await other.close(0);
  });
});
