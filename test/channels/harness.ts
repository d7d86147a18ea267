import { MessagesInFlight } from '../../app/src/channels/in-flight';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { channelsPlugin } from '../../app/src/channels';
import type { ChatService, TextStream, Turn, TurnReply } from '../../app/src/chat/service';
import { loadSettings } from '../../app/src/lib/config';
import type { GatewayDeps, Logs } from '../../app/src/deps';
import { createMetrics } from '../../app/src/observability/metrics';
import type { ModelManager } from '../../app/src/models/manager';
import { type ChatModel, textOf } from '../../app/src/models/types';
import { ReadinessChecks } from '../../app/src/observability/readiness';
import { MemoryStore } from '../../app/src/store/memory';
import type { Store } from '../../app/src/store/store';

/** A promise with its resolve exposed, to hold a fake model until the test lets it answer. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A ChatService stand-in for the channel tests: it records every turn and answers
 * "echo: <text>" (or `answer(turn)`), optionally held until `gate` resolves.
 */
export class FakeChat implements ChatService {
  readonly turns: Turn[] = [];
  /** What logNotice() recorded: replies the gateway gave without a model. */
  readonly notices: Array<{ turn: Omit<Turn, 'signal'>; reply: string }> = [];
  gate?: Promise<void>;
  answer: (turn: Turn) => string = (turn) => `echo: ${textOf(turn.message)}`;
  fail?: Error;

  async reply(turn: Turn): Promise<TurnReply> {
    this.turns.push(turn);
    if (this.gate) await this.gate;
    turn.signal?.throwIfAborted();
    if (this.fail) throw this.fail;
    return { sessionId: turn.sessionId, reply: this.answer(turn), model: { provider: 'rules', name: 'fake' } };
  }

  replyStream(): TextStream {
    throw new Error('not used by channels');
  }

  async logNotice(turn: Omit<Turn, 'signal'>, reply: string): Promise<void> {
    this.notices.push({ turn, reply });
  }

  async complete(): Promise<never> {
    throw new Error('not used by channels');
  }

  completeStream(): TextStream {
    throw new Error('not used by channels');
  }
}

export function fakeModels(supportsVision: boolean): ModelManager {
  const model: ChatModel = {
    descriptor: { provider: 'openai', name: supportsVision ? 'vision-model' : 'text-model' },
    supportsVision,
    complete: async () => ({ text: '', model: 'fake', finishReason: 'stop' }),
    stream: async function* () {
      return { finishReason: 'stop' };
    },
  };
  return {
    current: () => model,
    switch: async () => ({ model: model.descriptor, durationMs: 0 }),
    status: () => ({ model: model.descriptor }),
  };
}

/** Log lines of all four streams, parsed, for assertions on audit entries and secrets. */
export interface CapturedLogs {
  logs: Logs;
  lines: Array<Record<string, unknown> & { stream: string }>;
  text(): string;
}

export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs['lines'] = [];
  const make = (stream: string): Logger =>
    pino({ level: 'debug' }, { write: (line: string) => void lines.push({ ...JSON.parse(line), stream }) });
  return {
    logs: { access: make('access'), error: make('error'), modelApi: make('modelApi'), audit: make('audit'), auditWritten: async () => undefined },
    lines,
    text: () => lines.map((line) => JSON.stringify(line)).join('\n'),
  };
}

export interface ChannelsApp {
  app: FastifyInstance;
  url: string;
  deps: GatewayDeps;
  chat: FakeChat;
  captured: CapturedLogs;
  /** The value of a channel metric with these labels (0 when never set). */
  metric(name: string, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Fastify with only the channels plugin, on 127.0.0.1, with settings read from `env`. */
export async function startChannelsApp(
  env: Record<string, string>,
  options: { store?: Store; chat?: FakeChat; supportsVision?: boolean } = {},
): Promise<ChannelsApp> {
  const captured = captureLogs();
  const chat = options.chat ?? new FakeChat();
  const registry = new Registry();
  const deps: GatewayDeps = {
    settings: loadSettings(env, '/tmp'),
    store: options.store ?? new MemoryStore(),
    chat,
    models: fakeModels(options.supportsVision ?? false),
    registry,
    metrics: createMetrics(registry, { activeSessions: () => 0 }),
    logs: captured.logs,
    readiness: new ReadinessChecks(),
    imInFlight: new MessagesInFlight(),
  };
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  await app.register(channelsPlugin, deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app,
    url,
    deps,
    chat,
    captured,
    metric: async (name, labels) => {
      const metric = await deps.registry.getSingleMetric(name)?.get();
      const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return value?.value ?? 0;
    },
    close: () => app.close(),
  };
}

/**
 * For a describe block: before each test a fake platform and a channels app configured for it
 * (`env` from the fake, `options` made afresh per test), handed to `use` (assign them to the
 * block's variables); both closed after each test.
 *
 *   let fake: FakeDingtalk;
 *   let gw: ChannelsApp;
 *   channelsAppPerTest(startFakeDingtalk, dingtalkEnv, (started) => ({ fake, gw } = started));
 */
export function channelsAppPerTest<Fake extends { close(): Promise<void> }>(
  startFake: () => Promise<Fake>,
  env: (fake: Fake) => Record<string, string>,
  use: (started: { fake: Fake; gw: ChannelsApp }) => void,
  options: () => Parameters<typeof startChannelsApp>[1] = () => ({}),
): void {
  let started: { fake: Fake; gw: ChannelsApp } | undefined;
  beforeEach(async () => {
    const fake = await startFake();
    started = { fake, gw: await startChannelsApp(env(fake), options()) };
    use(started);
  });
  afterEach(async () => {
    await started?.gw.close();
    await started?.fake.close();
  });
}

export async function post(url: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}
