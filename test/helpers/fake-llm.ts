/**
 * Fake model providers: real HTTP servers on 127.0.0.1 that speak the OpenAI Chat
 * Completions API (/v1/chat/completions, plain and SSE, and /v1/models) or the Anthropic
 * Messages API (/v1/messages, plain and SSE). Point MODEL_ENDPOINT at `fake.url`.
 *
 *   const fake = await startFakeOpenAI({ reply: 'hi there' });
 *   fake.enqueue({ status: 429, headers: { 'retry-after-ms': '10' } }, { text: 'after retry' });
 *   ... fake.requests[0].body.messages ...
 *   await fake.close();
 *
 * Each completion request takes the next enqueued step, or else the default `reply`
 * (a string, or a function of the request). The default reply echoes the last user text.
 * A step can ask for tools instead (`toolCalls`), or be cut at the length limit (`finish: 'length'`):
 *
 *   fake.enqueue({ toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] });
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStep {
  /** The answer text (success). */
  text?: string;
  /** Non-200: answers with this status and an error body in the provider's format. */
  status?: number;
  /** The error body's message (and, for OpenAI, `code`) with a non-200 status. */
  error?: { message: string; code?: string };
  headers?: Record<string, string>;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Never answers (until close): for timeouts. */
  hang?: boolean;
  /**
   * Answers 200 with this JSON instead of a well-formed answer (a misbehaving provider); a
   * stream gets it as its one event (then `[DONE]` for OpenAI).
   */
  body?: unknown;
  /** Streams only: sends this many chunks, then goes silent. */
  stallAfterChunks?: number;
  /** Streams only: sends this many chunks, then drops the connection. */
  dropAfterChunks?: number;
  /** The model asks for these tool calls (after the text, if any); it stops for tool use. */
  toolCalls?: FakeToolCall[];
  /** `length`: the answer was cut at max_tokens. Default: a natural stop (or tool use). */
  finish?: 'length';
}

export interface FakeToolCall {
  id: string;
  name: string;
  /** JSON text. */
  arguments: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  /** The caller closed the connection before the answer was complete. */
  hungUp: boolean;
  /** The caller's end of the connection: requests on one kept-alive connection share it. */
  clientPort: number;
}

export interface FakeLLMOptions {
  reply?: string | ((request: RecordedRequest) => string | FakeStep);
  /** Model ids for /v1/models (OpenAI). */
  models?: string[];
  /** The address to listen on: another than loopback for gateways in other network namespaces. */
  host?: string;
}

export interface FakeLLM {
  /** The MODEL_ENDPOINT to configure: `…/v1` for OpenAI, the server root for Anthropic. */
  url: string;
  /** Every request received, in order (completions, models, anything else). */
  requests: RecordedRequest[];
  /** Completion requests only. */
  completions(): RecordedRequest[];
  enqueue(...steps: FakeStep[]): void;
  close(): Promise<void>;
}

type Protocol = 'openai' | 'anthropic';

const COMPLETION_PATHS: Record<Protocol, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };

function lastUserText(body: RecordedRequest['body']): string {
  const messages: Array<{ role: string; content: unknown }> = body?.messages ?? [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content as Array<{ type: string; text?: string }>)
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join(' ');
}

/** Splits text into word-sized chunks (keeping spaces) so streams have several deltas. */
const chunksOf = (text: string) => text.match(/\S+\s*|\s+/g) ?? [''];

function errorBody(protocol: Protocol, status: number, error?: FakeStep['error']): unknown {
  const message = error?.message ?? `fake provider error ${status}`;
  const type = status === 429 ? 'rate_limit' : status < 500 ? 'invalid_request' : 'server';
  if (protocol === 'anthropic') return { type: 'error', error: { type: type === 'server' ? 'api_error' : `${type}_error`, message } };
  return { error: { message, type: type === 'rate_limit' ? 'rate_limit_exceeded' : `${type}_error`, code: error?.code ?? null } };
}

/** Why the step's answer ended, in the protocol's words. */
function stopReason(protocol: Protocol, step: FakeStep): string {
  if (step.finish === 'length') return protocol === 'anthropic' ? 'max_tokens' : 'length';
  if (step.toolCalls?.length) return protocol === 'anthropic' ? 'tool_use' : 'tool_calls';
  return protocol === 'anthropic' ? 'end_turn' : 'stop';
}

function successBody(protocol: Protocol, model: string, step: FakeStep): unknown {
  const text = step.text ?? '';
  const calls = step.toolCalls ?? [];
  if (protocol === 'anthropic') {
    return {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      content: [
        ...(text || !calls.length ? [{ type: 'text', text }] : []),
        ...calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
      ],
      stop_reason: stopReason(protocol, step),
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 5 },
    };
  }
  const toolCalls = calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: calls.length && !text ? null : text, ...(calls.length ? { tool_calls: toolCalls } : {}) }, finish_reason: stopReason(protocol, step) }],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  };
}

/** A tool call's arguments in two pieces, as providers stream them. */
const halves = (text: string) => [text.slice(0, Math.ceil(text.length / 2)), text.slice(Math.ceil(text.length / 2))];

function streamEvents(protocol: Protocol, model: string, step: FakeStep, includeUsage: boolean): { start: string[]; deltas: string[]; end: string[] } {
  const chunks = chunksOf(step.text ?? '');
  const calls = step.toolCalls ?? [];
  const sse = (data: unknown, name?: string) => `${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
  if (protocol === 'anthropic') {
    const blockEvent = (type: string, data: object) => sse({ type, ...data }, type);
    const toolBlocks = calls.flatMap((call, n) => [
      blockEvent('content_block_start', { index: n + 1, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } }),
      ...halves(call.arguments).map((partial_json) => blockEvent('content_block_delta', { index: n + 1, delta: { type: 'input_json_delta', partial_json } })),
      blockEvent('content_block_stop', { index: n + 1 }),
    ]);
    return {
      start: [
        sse({ type: 'message_start', message: { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 0 } } }, 'message_start'),
        blockEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ],
      deltas: chunks.map((text) => blockEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
      end: [
        blockEvent('content_block_stop', { index: 0 }),
        ...toolBlocks,
        sse({ type: 'message_delta', delta: { stop_reason: stopReason(protocol, step), stop_sequence: null }, usage: { output_tokens: 5 } }, 'message_delta'),
        sse({ type: 'message_stop' }, 'message_stop'),
      ],
    };
  }
  // With stream_options.include_usage: `usage: null` on every chunk, then a usage chunk without choices.
  const usage = (counts: unknown) => (includeUsage ? { usage: counts } : {});
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    sse({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }], ...usage(null) });
  const usageChunk = sse({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model, choices: [], ...usage({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 }) });
  // As OpenAI streams a tool call: its id and name first, then the arguments in pieces.
  const toolChunks = calls.flatMap((call, index) => [
    chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null),
    ...halves(call.arguments).map((piece) => chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null)),
  ]);
  return {
    start: [chunk({ role: 'assistant', content: '' }, null)],
    deltas: step.text ? chunks.map((text) => chunk({ content: text }, null)) : [],
    end: [...toolChunks, chunk({}, stopReason(protocol, step)), ...(includeUsage ? [usageChunk] : []), 'data: [DONE]\n\n'],
  };
}

async function startFake(protocol: Protocol, options: FakeLLMOptions): Promise<FakeLLM> {
  const requests: RecordedRequest[] = [];
  const queue: FakeStep[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const wait = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(timer);
      resolve();
    }, ms);
    pending.add(timer);
  });

  const nextStep = (request: RecordedRequest): FakeStep => {
    const queued = queue.shift();
    if (queued) return queued;
    const reply = options.reply ?? ((r: RecordedRequest) => `echo: ${lastUserText(r.body)}`);
    const step = typeof reply === 'function' ? reply(request) : reply;
    return typeof step === 'string' ? { text: step } : step;
  };

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (data: Buffer) => (raw += data.toString()));
    req.on('end', () => {
      let body: unknown = undefined;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: (req.url ?? '').split('?')[0], headers: req.headers, body, hungUp: false, clientPort: req.socket.remotePort ?? 0 };
      res.on('close', () => (recorded.hungUp = !res.writableFinished));
      requests.push(recorded);
      void answer(recorded, res);
    });
  });

  const answer = async (request: RecordedRequest, res: http.ServerResponse) => {
    if (protocol === 'openai' && request.method === 'GET' && request.path === '/v1/models') {
      const data = (options.models ?? ['fake-model']).map((id) => ({ id, object: 'model', created: 1, owned_by: 'fake' }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
      return;
    }
    if (request.method !== 'POST' || request.path !== COMPLETION_PATHS[protocol]) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody(protocol, 404)));
      return;
    }
    const step = nextStep(request);
    if (step.hang) return;
    if (step.delayMs) await wait(step.delayMs);
    if (res.destroyed) return;
    const status = step.status ?? 200;
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json', ...step.headers }).end(JSON.stringify(errorBody(protocol, status, step.error)));
      return;
    }
    const model = String(request.body?.model ?? 'fake-model');
    if (!request.body?.stream) {
      const body = 'body' in step ? step.body : successBody(protocol, model, step);
      res.writeHead(200, { 'content-type': 'application/json', ...step.headers }).end(JSON.stringify(body));
      return;
    }
    const events = 'body' in step
      ? { start: [], deltas: [`data: ${JSON.stringify(step.body)}\n\n`], end: protocol === 'openai' ? ['data: [DONE]\n\n'] : [] }
      : streamEvents(protocol, model, step, request.body?.stream_options?.include_usage === true);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...step.headers });
    for (const event of events.start) res.write(event);
    for (const [index, event] of events.deltas.entries()) {
      if (step.stallAfterChunks !== undefined && index >= step.stallAfterChunks) return;
      if (step.dropAfterChunks !== undefined && index >= step.dropAfterChunks) {
        // Once what was written has left: destroy() would discard it, and the call would fail before its headers.
        res.write('', () => res.destroy());
        return;
      }
      res.write(event);
    }
    for (const event of events.end) res.write(event);
    res.end();
  };

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const root = `http://${host}:${port}`;
  return {
    url: protocol === 'openai' ? `${root}/v1` : root,
    requests,
    completions: () => requests.filter((r) => r.path === COMPLETION_PATHS[protocol]),
    enqueue: (...steps) => queue.push(...steps),
    async close() {
      for (const timer of pending) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A fake OpenAI-compatible provider; `url` ends in /v1 like a real base URL. */
export function startFakeOpenAI(options: FakeLLMOptions = {}): Promise<FakeLLM> {
  return startFake('openai', options);
}

/** A fake Anthropic Messages API; `url` is the server root (the SDK adds /v1/messages). */
export function startFakeAnthropic(options: FakeLLMOptions = {}): Promise<FakeLLM> {
  return startFake('anthropic', options);
}
