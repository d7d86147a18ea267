import { Registry } from 'prom-client';
import { PlatformError } from '../../app/src/channels/http';
import type { ChannelAdapter } from '../../app/src/channels/adapter';
import { APOLOGY, DEDUP_TTL_SECONDS, Inbox, LEASE_TTL_SECONDS, RETRY_DELAY_SECONDS } from '../../app/src/channels/inbox';
import { MessagesInFlight } from '../../app/src/channels/in-flight';
import { channelMetrics } from '../../app/src/channels/metrics';
import { MemoryStore } from '../../app/src/store/memory';
import type { Store } from '../../app/src/store/store';
import { captureLogs, deferred } from './harness';

interface Message {
  text: string;
}

/** A platform that records what it was asked to answer and what it sent. */
class FakeAdapter implements ChannelAdapter<Message> {
  readonly channel = 'feishu' as const;
  readonly messageLimit = 1000;
  resendWindowMs?: number;
  readonly answered: string[] = [];
  readonly sent: Array<{ text: string; part: number }> = [];
  answerWith: (message: Message, signal: AbortSignal) => Promise<string> = async (message) => `re: ${message.text}`;
  beforeSend: (part: number) => Promise<void> = async () => {};

  answer(message: Message, signal: AbortSignal): Promise<string> {
    this.answered.push(message.text);
    return this.answerWith(message, signal);
  }

  async send(_message: Message, text: string, part: number): Promise<string> {
    await this.beforeSend(part);
    this.sent.push({ text, part });
    return 'reply';
  }
}

function setup(store: Store = new MemoryStore()) {
  const registry = new Registry();
  const metrics = channelMetrics(registry);
  const adapter = new FakeAdapter();
  const captured = captureLogs();
  const inbox = new Inbox(adapter, store, metrics, captured.logs, new MessagesInFlight());
  const metric = async (name: string, outcome: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { store, adapter, inbox, metric, captured };
}

/** A store whose clock the test moves, to let leases lapse without waiting. */
function clockedStore() {
  let now = Date.now();
  const store = new MemoryStore(() => now);
  return { store, advance: (ms: number) => (now += ms) };
}

afterEach(() => jest.restoreAllMocks());

const never = () => new Promise<string>(() => {});

/** Another process's recovery sweep over the same store, run until its work is done. */
async function sweepFromAnotherProcess(store: Store) {
  const survivor = setup(store);
  await survivor.inbox.recover();
  await survivor.inbox.idle();
  return survivor;
}

/** A process that accepted message `id` and died while the model was thinking about it. */
async function crashWhileAnswering(store: Store, id: string, text = 'hi'): Promise<void> {
  const crashed = setup(store);
  crashed.adapter.answerWith = never;
  expect(await crashed.inbox.accept(id, 'chat', { text })).toBe('accepted');
}

describe('Inbox: exactly-once handling', () => {
  it('answers concurrent duplicate deliveries once', async () => {
    const { inbox, adapter, metric } = setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => inbox.accept('m1', 'chat', { text: 'hi' })));
    await inbox.idle();
    expect(results.filter((r) => r === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r === 'duplicate')).toHaveLength(4);
    expect(adapter.answered).toEqual(['hi']);
    expect(adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
    expect(await metric('clawdbot_channel_replies_total', 'reply')).toBe(1);
  });

  it('refuses a retry that arrives after the answer went out', async () => {
    const { inbox, adapter } = setup();
    await inbox.accept('m1', 'chat', { text: 'hi' });
    await inbox.idle();
    expect(await inbox.accept('m1', 'chat', { text: 'hi' })).toBe('duplicate');
    await inbox.idle();
    expect(adapter.sent).toHaveLength(1);
  });

  it('refuses a retry while the first delivery is still being answered', async () => {
    const { inbox, adapter } = setup();
    const gate = deferred();
    adapter.answerWith = async (message) => {
      await gate.promise;
      return `re: ${message.text}`;
    };
    await inbox.accept('m1', 'chat', { text: 'hi' });
    expect(await inbox.accept('m1', 'chat', { text: 'hi' })).toBe('duplicate');
    gate.resolve();
    await inbox.idle();
    expect(adapter.sent).toHaveLength(1);
  });

  it('resumes a message whose worker died, once its lease lapses, and only once', async () => {
    const { store, advance } = clockedStore();
    await crashWhileAnswering(store, 'm1');

    const survivor = setup(store);
    await survivor.inbox.recover();
    expect(survivor.adapter.answered).toEqual([]); // the lease is still held

    advance((LEASE_TTL_SECONDS + 1) * 1000);
    await survivor.inbox.recover();
    await survivor.inbox.recover();
    await survivor.inbox.idle();
    expect(survivor.adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
    expect(await survivor.inbox.accept('m1', 'chat', { text: 'hi' })).toBe('duplicate');
  });

  it('still resumes an unfinished message after thousands of others were answered since', async () => {
    const { store, advance } = clockedStore();
    await crashWhileAnswering(store, 'stuck', 'the one left behind');

    const busy = setup(store);
    for (let i = 0; i < 1500; i++) await busy.inbox.accept(`m${i}`, `chat-${i % 50}`, { text: `message ${i}` });
    await busy.inbox.idle();
    expect(busy.adapter.sent).toHaveLength(1500);

    advance((LEASE_TTL_SECONDS + 1) * 1000);
    const survivor = await sweepFromAnotherProcess(store);
    expect(survivor.adapter.answered).toEqual(['the one left behind']);
    // Answered messages leave the index the sweep reads; only what is unfinished stays.
    expect(await store.setMembers('unfinished:feishu')).toEqual([]);
  });

  it('drops a message from the index once its record expired unanswered', async () => {
    const { store, advance } = clockedStore();
    await crashWhileAnswering(store, 'm1');
    advance((DEDUP_TTL_SECONDS + 1) * 1000);
    const survivor = await sweepFromAnotherProcess(store);
    expect(survivor.adapter.answered).toEqual([]);
    expect(await store.setMembers('unfinished:feishu')).toEqual([]);
  });

  it('lets a platform retry take over a message whose worker died before acknowledging', async () => {
    const { store, advance } = clockedStore();
    await crashWhileAnswering(store, 'm1');
    advance((LEASE_TTL_SECONDS + 1) * 1000);

    const restarted = setup(store);
    expect(await restarted.inbox.accept('m1', 'chat', { text: 'hi' })).toBe('accepted');
    await restarted.inbox.idle();
    expect(restarted.adapter.sent).toHaveLength(1);
  });

  it('after a failed part, waits the retry delay, then resends only what is missing and does not ask the model again', async () => {
    const { store, advance } = clockedStore();
    const { inbox, adapter, metric } = setup(store);
    adapter.answerWith = async () => `${'a'.repeat(900)}\n\n${'b'.repeat(900)}\n\n${'c'.repeat(900)}`;
    let failures = 1;
    adapter.beforeSend = async (part) => {
      if (part === 1 && failures-- > 0) throw new PlatformError('HTTP 503', true);
    };
    await inbox.accept('m1', 'chat', { text: 'long' });
    await inbox.idle();
    expect(adapter.sent.map((s) => s.part)).toEqual([0]);

    await inbox.recover(); // what the periodic sweep does
    await inbox.idle();
    expect(adapter.sent.map((s) => s.part)).toEqual([0]);
    advance((RETRY_DELAY_SECONDS + 1) * 1000);
    await inbox.recover();
    await inbox.idle();
    expect(adapter.sent.map((s) => s.part)).toEqual([0, 1, 2]);
    expect(adapter.answered).toEqual(['long']);
    expect(await metric('clawdbot_channel_replies_total', 'reply')).toBe(1);
  });

  it('gives a half-sent message up, audited, once a resend could fall outside the platform\'s dedup window', async () => {
    const { store, advance } = clockedStore();
    const crashed = setup(store);
    crashed.adapter.resendWindowMs = 50 * 60 * 1000;
    crashed.adapter.beforeSend = () => new Promise(() => {}); // killed while the part is in flight
    await crashed.inbox.accept('m1', 'chat', { text: 'hi' });
    await new Promise((resolve) => setImmediate(resolve));

    const answeredAt = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(answeredAt + 50 * 60 * 1000 + 1);
    advance(60 * 60 * 1000);
    const survivor = setup(store);
    survivor.adapter.resendWindowMs = 50 * 60 * 1000;
    await survivor.inbox.recover();
    await survivor.inbox.idle();
    expect(survivor.adapter.sent).toEqual([]);
    expect(survivor.adapter.answered).toEqual([]);
    expect(await survivor.metric('clawdbot_channel_failures_total', 'abandoned')).toBe(1);
    expect(survivor.captured.lines.find((line) => line.stream === 'audit' && String(line.msg).startsWith('channel message abandoned'))).toMatchObject({ sent: 0, parts: 1 });
    expect(await survivor.inbox.accept('m1', 'chat', { text: 'hi' })).toBe('duplicate');
  });

  it('resumes a half-sent message within the platform\'s dedup window', async () => {
    const { store, advance } = clockedStore();
    const crashed = setup(store);
    crashed.adapter.resendWindowMs = 50 * 60 * 1000;
    crashed.adapter.beforeSend = () => new Promise(() => {});
    await crashed.inbox.accept('m1', 'chat', { text: 'hi' });
    await new Promise((resolve) => setImmediate(resolve));

    advance((LEASE_TTL_SECONDS + 1) * 1000);
    const survivor = setup(store);
    survivor.adapter.resendWindowMs = 50 * 60 * 1000;
    await survivor.inbox.recover();
    await survivor.inbox.idle();
    expect(survivor.adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
  });

  it('gives up on a permanent platform error and counts it', async () => {
    const { inbox, adapter, metric, captured } = setup();
    adapter.beforeSend = async () => {
      throw new PlatformError('HTTP 400 code 230027 no permission', false);
    };
    await inbox.accept('m1', 'chat', { text: 'hi' });
    await inbox.idle();
    await inbox.recover();
    await inbox.idle();
    expect(adapter.answered).toEqual(['hi']);
    expect(await metric('clawdbot_channel_failures_total', 'send')).toBe(1);
    expect(captured.lines.some((line) => line.stream === 'audit' && line.msg === 'channel message given up')).toBe(true);
  });

  it('sends an apology when the model fails', async () => {
    const { inbox, adapter, metric } = setup();
    adapter.answerWith = async () => {
      throw new Error('model unavailable');
    };
    await inbox.accept('m1', 'chat', { text: 'hi' });
    await inbox.idle();
    expect(adapter.sent).toEqual([{ text: APOLOGY, part: 0 }]);
    expect(await metric('clawdbot_channel_failures_total', 'answer')).toBe(1);
  });

  it('answers one conversation in order, without holding up others', async () => {
    const { inbox, adapter } = setup();
    const firstGate = deferred();
    adapter.answerWith = async (message) => {
      if (message.text === 'first') await firstGate.promise;
      return `re: ${message.text}`;
    };
    await inbox.accept('m1', 'chat-a', { text: 'first' });
    await inbox.accept('m2', 'chat-a', { text: 'second' });
    await inbox.accept('m3', 'chat-b', { text: 'other chat' });
    // Give the queues a chance to run: chat-b goes through, chat-a's second waits for its first.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(adapter.answered).toEqual(['first', 'other chat']);
    firstGate.resolve();
    await inbox.idle();
    expect(adapter.sent.map((s) => s.text)).toEqual(['re: other chat', 're: first', 're: second']);
  });

  it('on shutdown hands unfinished work back at once, for the next process to resume', async () => {
    const store = new MemoryStore();
    const stopping = setup(store);
    stopping.adapter.answerWith = (_message, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    await stopping.inbox.accept('m1', 'chat', { text: 'hi' });
    await stopping.inbox.close(0);
    expect(stopping.adapter.sent).toEqual([]);

    const next = await sweepFromAnotherProcess(store);
    expect(next.adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
  });

  it('forgets a half-recorded delivery, so the platform retry is answered', async () => {
    const store = new MemoryStore();
    const addToSet = store.addToSet.bind(store);
    store.addToSet = async () => {
      throw new Error('store down');
    };
    const { inbox, adapter } = setup(store);
    await expect(inbox.accept('m1', 'chat', { text: 'hi' })).rejects.toThrow('store down');
    store.addToSet = addToSet;
    expect(await inbox.accept('m1', 'chat', { text: 'hi' })).toBe('accepted');
    await inbox.idle();
    expect(adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
  });

  it('lets the retry take over a delivery recorded without its lease', async () => {
    const store = new MemoryStore();
    const set = store.set.bind(store);
    store.set = async () => {
      throw new Error('store down');
    };
    const { inbox, adapter } = setup(store);
    await expect(inbox.accept('m1', 'chat', { text: 'hi' })).rejects.toThrow('store down');
    store.set = set;
    expect(await inbox.accept('m1', 'chat', { text: 'hi' })).toBe('accepted');
    await inbox.idle();
    expect(adapter.sent).toEqual([{ text: 're: hi', part: 0 }]);
  });

  it('rejects a delivery it cannot record, so the caller does not acknowledge it', async () => {
    const store = new MemoryStore();
    store.setIfAbsent = async () => {
      throw new Error('store down');
    };
    const { inbox, adapter } = setup(store);
    await expect(inbox.accept('m1', 'chat', { text: 'hi' })).rejects.toThrow('store down');
    expect(adapter.answered).toEqual([]);
  });
});

describe('on a full bounded memory store', () => {
  it('still refuses a redelivered message and lets no second worker take an in-flight one', async () => {
    const store = new MemoryStore(Date.now, { maxEntries: 100, maxBytes: 100_000 });
    const { inbox, adapter } = setup(store);
    // Still answering when the other process looks: until the shutdown aborts it.
    adapter.answerWith = (_message, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    expect(await inbox.accept('m1', 'chat', { text: 'hello' })).toBe('accepted');
    // Far more sessions than the store holds: every evictable entry before them is gone.
    for (let i = 0; i < 1000; i++) await store.appendToList(`session:feishu:chat:${i}`, ['question', 'answer'], 20, 3600);
    const other = setup(store);
    expect(await other.inbox.accept('m1', 'chat', { text: 'hello' })).toBe('duplicate');
    await other.inbox.recover();
    expect(other.adapter.answered).toEqual([]);
    await inbox.close(0);
    await store.close();
  });
});
