import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ActiveSessions } from '../../app/src/chat/active-sessions';
import { ConversationLog, type ExchangeRecord } from '../../app/src/chat/conversation-log';
import { ConversationService } from '../../app/src/chat/conversation';
import { ResponseCache } from '../../app/src/chat/response-cache';
import { SESSION_MAX_MESSAGES, SESSION_TTL_SECONDS, SessionHistory } from '../../app/src/chat/sessions';
import { InputError } from '../../app/src/lib/errors';
import { createMetrics } from '../../app/src/observability/metrics';
import type { ModelManager } from '../../app/src/models/manager';
import { RulesModel } from '../../app/src/models/rules';
import { ModelError, textOf, type ChatModel, type CompletionRequest, type CompletionResult, type ModelStream } from '../../app/src/models/types';
import { MemoryStore } from '../../app/src/store/memory';

/** A model that answers "answer <n> to <last user text>" and records what it was sent. */
class RecordingModel implements ChatModel {
  readonly requests: CompletionRequest[] = [];
  failWith?: Error;
  constructor(
    readonly descriptor = { provider: 'openai' as const, name: 'recording' },
    readonly supportsVision = false,
  ) {}
  private answer(request: CompletionRequest): string {
    this.requests.push(request);
    if (this.failWith) throw this.failWith;
    return `answer ${this.requests.length} to ${textOf(request.messages.at(-1)!.content)}`;
  }
  async complete(request: CompletionRequest): Promise<CompletionResult> {
    return { text: this.answer(request), model: this.descriptor.name, finishReason: 'stop' };
  }
  /** Reports usage when asked, as OpenAI-compatible providers do: a word is a token here. */
  async *stream(request: CompletionRequest): ModelStream {
    const words = this.answer(request).split(/(?<= )/);
    for (const word of words) yield word;
    return { finishReason: 'stop', ...(request.streamUsage ? { usage: { promptTokens: request.messages.length, completionTokens: words.length } } : {}) };
  }
}

interface Setup {
  service: ConversationService;
  model: RecordingModel;
  store: MemoryStore;
  registry: Registry;
  activeSessions: ActiveSessions;
  advance(ms: number): void;
  exchanges(): Promise<ExchangeRecord[]>;
  use(model: ChatModel): void;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-chat-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function setup(options: { routing?: 'hybrid' | 'llm'; cacheTtlSeconds?: number; model?: RecordingModel } = {}): Setup {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const store = new MemoryStore(() => now);
  const registry = new Registry();
  const activeSessions = new ActiveSessions(100, () => now);
  const metrics = createMetrics(registry, { activeSessions: () => activeSessions.count() });
  fs.writeFileSync(path.join(dir, 'faq.json'), JSON.stringify([{ question: 'opening hours', answer: 'We are open 9 to 6.', keywords: ['营业时间'] }]));
  let current: ChatModel = options.model ?? new RecordingModel();
  const models: ModelManager = {
    current: () => current,
    switch: async () => {
      throw new Error('not used');
    },
    status: () => ({ model: current.descriptor }),
  };
  const conversationLog = new ConversationLog(path.join(dir, 'conversations'), pino({ level: 'silent' }), { retentionDays: 90, maxBytes: 1e9 });
  const service = new ConversationService({
    models,
    rules: new RulesModel(path.join(dir, 'faq.json')),
    sessions: new SessionHistory(store),
    cache: new ResponseCache(store, options.cacheTtlSeconds ?? 0, metrics),
    conversationLog,
    activeSessions,
    metrics,
    routing: options.routing ?? 'hybrid',
    maxTokens: 100,
    temperature: 0.5,
    limits: { maxMessageChars: 10_000, maxHistoryChars: 100_000 },
  });
  return {
    service,
    model: current as RecordingModel,
    store,
    registry,
    activeSessions,
    advance: (ms) => (now += ms),
    use: (model) => (current = model),
    async exchanges() {
      await conversationLog.close();
      const logDir = path.join(dir, 'conversations');
      return fs
        .readdirSync(logDir)
        .flatMap((file) => fs.readFileSync(path.join(logDir, file), 'utf8').trim().split('\n'))
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    },
  };
}

const turn = (sessionId: string, message: string) => ({ sessionId, channel: 'api' as const, message });

describe('hybrid routing', () => {
  it('lets the rules engine answer greetings, help, the time and the FAQ; the model the rest', async () => {
    const { service, model } = setup();
    expect((await service.reply(turn('s', 'hello'))).model.provider).toBe('rules');
    expect((await service.reply(turn('s', '你好'))).reply).toMatch(/你好/);
    expect((await service.reply(turn('s', 'What are your opening hours?'))).reply).toBe('We are open 9 to 6.');
    expect((await service.reply(turn('s', '请问营业时间是？'))).reply).toBe('We are open 9 to 6.');
    expect(model.requests).toHaveLength(0);

    const answer = await service.reply(turn('s', 'explain quantum tunnelling'));
    expect(answer).toMatchObject({ model: { provider: 'openai', name: 'recording' }, reply: 'answer 1 to explain quantum tunnelling' });
  });

  it('sends everything to the model with ROUTING=llm', async () => {
    const { service, model } = setup({ routing: 'llm' });
    expect((await service.reply(turn('s', 'hello'))).model.name).toBe('recording');
    expect(model.requests).toHaveLength(1);
  });
});

describe('session history', () => {
  it('sends the earlier exchanges of the session to the model, and only those', async () => {
    const { service, model } = setup({ routing: 'llm' });
    await service.reply(turn('alice', 'my name is Alice'));
    await service.reply(turn('bob', 'my name is Bob'));
    await service.reply(turn('alice', 'what is my name?'));
    expect(model.requests[2].messages).toEqual([
      { role: 'user', content: 'my name is Alice' },
      { role: 'assistant', content: 'answer 1 to my name is Alice' },
      { role: 'user', content: 'what is my name?' },
    ]);
  });

  it(`keeps the newest ${SESSION_MAX_MESSAGES} messages`, async () => {
    const { service, model } = setup({ routing: 'llm' });
    const turns = SESSION_MAX_MESSAGES;
    for (let i = 1; i <= turns; i++) await service.reply(turn('long', `message ${i}`));
    const sent = model.requests.at(-1)!.messages;
    expect(sent).toHaveLength(SESSION_MAX_MESSAGES + 1);
    expect(sent[0]).toEqual({ role: 'user', content: `message ${turns - SESSION_MAX_MESSAGES / 2}` });
    expect(sent.at(-1)).toEqual({ role: 'user', content: `message ${turns}` });
  });

  it('forgets a session idle for longer than its TTL', async () => {
    const { service, model, advance } = setup({ routing: 'llm' });
    await service.reply(turn('idle', 'remember this'));
    advance(SESSION_TTL_SECONDS * 1000 + 1);
    await service.reply(turn('idle', 'do you remember?'));
    expect(model.requests[1].messages).toEqual([{ role: 'user', content: 'do you remember?' }]);
  });

  it('streams a reply and stores it when the stream ends', async () => {
    const { service, store } = setup({ routing: 'llm' });
    const stream = service.replyStream(turn('streamed', 'stream please'));
    expect(stream.model).toEqual({ provider: 'openai', name: 'recording' });
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(1);
    const history = (await store.readList('session:streamed')).map((item) => JSON.parse(item));
    expect(history).toEqual([
      { role: 'user', content: 'stream please' },
      { role: 'assistant', content: deltas.join('') },
    ]);
  });

  it('stores each exchange as one pair, even when turns of a session run concurrently', async () => {
    const { store } = setup();
    const sessions = new SessionHistory(store);
    await Promise.all(
      [1, 2, 3].map((i) => sessions.append({ sessionId: 'busy' }, { role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` })),
    );
    const history = (await store.readList('session:busy')).map((item) => JSON.parse(item).content);
    expect(history).toEqual(['question 1', 'answer 1', 'question 2', 'answer 2', 'question 3', 'answer 3']);
  });

  it('counts active sessions', async () => {
    const { service, activeSessions, advance } = setup();
    await service.reply(turn('one', 'hi'));
    await service.reply(turn('two', 'hi'));
    await service.reply(turn('one', 'hi again'));
    expect(activeSessions.count()).toBe(2);
    advance(16 * 60_000);
    expect(activeSessions.count()).toBe(0);
  });
});

describe('response cache', () => {
  it('answers an identical normalized prompt to the same model from the store', async () => {
    const { service, model, registry } = setup({ routing: 'llm', cacheTtlSeconds: 60 });
    const first = await service.complete([{ role: 'user', content: 'What is Redis?' }]);
    const second = await service.complete([{ role: 'user', content: '  what   is REDIS ' }]);
    expect(second.text).toBe(first.text);
    expect(model.requests).toHaveLength(1);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^clawdbot_cache_hits_total 1$/m);
    expect(metrics).toMatch(/^clawdbot_cache_misses_total 1$/m);
  });

  it('does not share answers between requests with different sampling parameters', async () => {
    const { service, model } = setup({ routing: 'llm', cacheTtlSeconds: 60 });
    await service.complete([{ role: 'user', content: 'count to ten' }]);
    await service.complete([{ role: 'user', content: 'count to ten' }], { sampling: { stop: ['5'] } });
    await service.complete([{ role: 'user', content: 'count to ten' }], { sampling: { stop: ['5'] } });
    expect(model.requests).toHaveLength(2);
    expect(model.requests[1].sampling).toEqual({ stop: ['5'] });
  });

  it('does not share answers between models, and expires them after CACHE_TTL_SECONDS', async () => {
    const { service, model, use, advance } = setup({ routing: 'llm', cacheTtlSeconds: 60 });
    await service.complete([{ role: 'user', content: 'same question' }]);
    const other = new RecordingModel({ provider: 'openai', name: 'other' });
    use(other);
    await service.complete([{ role: 'user', content: 'same question' }]);
    expect(other.requests).toHaveLength(1);
    use(model);
    advance(61_000);
    await service.complete([{ role: 'user', content: 'same question' }]);
    expect(model.requests).toHaveLength(2);
  });

  it('is off with CACHE_TTL_SECONDS=0', async () => {
    const { service, model } = setup({ routing: 'llm', cacheTtlSeconds: 0 });
    await service.complete([{ role: 'user', content: 'q' }]);
    await service.complete([{ role: 'user', content: 'q' }]);
    expect(model.requests).toHaveLength(2);
  });

  it('applies MAX_TOKENS (100 here) as the default and the ceiling of a request\'s length, TEMPERATURE (0.5) as its default', async () => {
    const { service, model } = setup({ routing: 'llm' });
    await service.complete([{ role: 'user', content: 'a' }]);
    await service.complete([{ role: 'user', content: 'b' }], { maxTokens: 500, temperature: 0 });
    await service.complete([{ role: 'user', content: 'c' }], { maxTokens: 20 });
    expect(model.requests.map(({ maxTokens, temperature }) => ({ maxTokens, temperature }))).toEqual([
      { maxTokens: 100, temperature: 0.5 },
      { maxTokens: 100, temperature: 0 },
      { maxTokens: 20, temperature: 0.5 },
    ]);
  });

  it('also serves streams', async () => {
    const { service, model } = setup({ routing: 'llm', cacheTtlSeconds: 60 });
    const collect = async () => {
      let text = '';
      for await (const delta of service.completeStream([{ role: 'user', content: 'stream me' }])) text += delta;
      return text;
    };
    expect(await collect()).toBe(await collect());
    expect(model.requests).toHaveLength(1);
  });

  it('report the usage of a streamed answer when asked: the model\'s, and zero tokens for a cached or a rules answer', async () => {
    const { service, model } = setup({ routing: 'hybrid', cacheTtlSeconds: 60 });
    const usageOf = async (content: string, streamUsage?: boolean) => {
      const stream = service.completeStream([{ role: 'user', content }], { streamUsage });
      for await (const delta of stream) expect(delta).not.toBe('');
      return stream.ending?.usage;
    };
    const none = { promptTokens: 0, completionTokens: 0 };
    expect(await usageOf('what is a sloth?')).toBeUndefined();
    expect(model.requests.at(-1)!.streamUsage).toBeUndefined();
    expect(await usageOf('what is a koala?', true)).toEqual({ promptTokens: 1, completionTokens: 7 });
    expect(model.requests.at(-1)!.streamUsage).toBe(true);
    expect(await usageOf('what is a koala?', true)).toEqual(none);
    expect(await usageOf('hello', true)).toEqual(none);
    expect(model.requests).toHaveLength(2);
  });
});

describe('pictures', () => {
  const picture = [{ type: 'text' as const, text: 'what is this?' }, { type: 'image' as const, url: 'https://example.com/cat.png' }];

  it('are refused for a model without vision', async () => {
    const { service } = setup();
    expect(() => service.replyStream({ sessionId: 'p', channel: 'api', message: picture })).toThrow(InputError);
    await expect(service.reply({ sessionId: 'p', channel: 'api', message: picture })).rejects.toMatchObject({ code: 'images_not_supported' });
  });

  it('reach a vision model as parts, and history keeps a placeholder', async () => {
    const vision = new RecordingModel({ provider: 'openai', name: 'gpt-4o' }, true);
    const { service, store } = setup({ model: vision });
    await service.reply({ sessionId: 'p', channel: 'dingtalk', message: picture });
    expect(vision.requests[0].messages.at(-1)!.content).toEqual(picture);
    expect(JSON.parse((await store.readList('session:p'))[0]).content).toBe('what is this?\n[image]');
  });
});

describe('the client-disconnect signal', () => {
  /** A signal that counts its reads: reading the real one makes the request's AbortController. */
  const countedSignal = () => {
    const controller = new AbortController();
    const reads = { count: 0 };
    return {
      reads,
      controller,
      get signal() {
        reads.count += 1;
        return controller.signal;
      },
    };
  };

  it('is not read for answers that call no model (rules), plain or streamed', async () => {
    const { service } = setup();
    const plain = countedSignal();
    await service.reply({ ...turn('s', 'hello'), get signal() { return plain.signal; } });
    const streamed = countedSignal();
    for await (const delta of service.replyStream({ ...turn('s', 'hello'), get signal() { return streamed.signal; } })) expect(delta).toBeTruthy();
    const completion = countedSignal();
    await service.complete([{ role: 'user', content: 'hello' }], { get signal() { return completion.signal; } });
    expect([plain.reads.count, streamed.reads.count, completion.reads.count]).toEqual([0, 0, 0]);
  });

  it('is not read when the model does not use it, and reaches the model when it does', async () => {
    const { service, model } = setup({ routing: 'llm' });
    const unused = countedSignal();
    await service.complete([{ role: 'user', content: 'question' }], { get signal() { return unused.signal; } });
    expect(unused.reads.count).toBe(0);

    const used = countedSignal();
    await service.reply({ ...turn('s', 'question'), get signal() { return used.signal; } });
    expect(model.requests.at(-1)!.signal).toBe(used.controller.signal);
  });
});

describe('conversation log', () => {
  it('appends every exchange as JSONL, failures included', async () => {
    const { service, model, exchanges } = setup({ routing: 'hybrid' });
    await service.reply({ sessionId: 'feishu:chat:user', channel: 'feishu', message: 'hello' });
    await service.complete([{ role: 'user', content: 'stateless question' }]);
    model.failWith = new ModelError('provider down', 502, 'model_unavailable');
    await expect(service.reply(turn('s', 'will this fail?'))).rejects.toThrow('provider down');

    const records = await exchanges();
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ channel: 'feishu', sessionId: 'feishu:chat:user', source: 'rules', user: 'hello', model: { provider: 'rules' } });
    expect(records[1]).toMatchObject({ channel: 'api', source: 'model', user: 'stateless question', reply: 'answer 1 to stateless question' });
    expect(records[1].sessionId).toBeUndefined();
    expect(records[2]).toMatchObject({ sessionId: 's', user: 'will this fail?', reply: '', error: 'provider down' });
    for (const record of records) expect(Date.parse(record.time)).not.toBeNaN();
  });
  it('records a stream whose client left as a disconnect, with the text sent so far, and stores nothing', async () => {
    const { service, store, exchanges } = setup({ routing: 'llm' });
    let sent = '';
    for await (const delta of service.replyStream(turn('left', 'tell me a long story'))) {
      sent += delta;
      // What the gateway does when the client hangs up: it stops reading.
      break;
    }

    expect(sent).not.toBe('');
    expect(await exchanges()).toEqual([expect.objectContaining({ sessionId: 'left', user: 'tell me a long story', reply: sent, error: 'client disconnected' })]);
    expect(await store.readList('session:left')).toEqual([]);
  });

  it('has an exchange in the file by the time its answer is returned, when many answer at once', async () => {
    const { service } = setup({ routing: 'llm' });
    const onDisk = () =>
      fs.readdirSync(path.join(dir, 'conversations'))
        .flatMap((file) => fs.readFileSync(path.join(dir, 'conversations', file), 'utf8').split('\n'))
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as ExchangeRecord).user);
    const answered = async (question: string, ask: Promise<unknown>) => {
      await ask;
      // Read at once, before anything else can run: the record must already be in the file.
      return onDisk().includes(question);
    };
    const streamed = async (question: string) => {
      for await (const delta of service.replyStream(turn(question, question))) expect(delta).toBeTruthy();
    };
    const questions = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'];
    const results = await Promise.all([
      ...questions.slice(0, 2).map((q) => answered(q, service.complete([{ role: 'user', content: q }]))),
      ...questions.slice(2, 4).map((q) => answered(q, service.reply(turn(q, q)))),
      ...questions.slice(4).map((q) => answered(q, streamed(q))),
    ]);
    expect(results).toEqual(questions.map(() => true));
    expect(onDisk().sort()).toEqual(questions);
  });
});
