import net from 'node:net';
import { sessionKey } from '../../app/src/chat/sessions';
import { apiKeyId } from '../../app/src/http/auth';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson, readEvents } from '../helpers/http';

describe('gateway HTTP API (rules model, memory store)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  const chat = (body: unknown, token = gw.apiKey) => postJson(`${gw.url}/api/chat`, body, token);
  const completions = (body: unknown, token = gw.apiKey) => postJson(`${gw.url}/v1/chat/completions`, body, token);

  it('answers /health with exactly {"status":"healthy"}', async () => {
    const response = await fetch(`${gw.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"status":"healthy"}');
  });

  it('is ready when the store and the model are usable', async () => {
    const response = await fetch(`${gw.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: { store: 'ok', model: 'ok' } });
  });

  it.each([
    ['POST', '/api/chat'],
    ['POST', '/v1/chat/completions'],
    ['GET', '/v1/models'],
  ])('refuses %s %s without a valid API key (401, OpenAI-style body)', async (method, route) => {
    for (const authorization of [undefined, 'Bearer not-a-key-at-all', `Basic ${gw.apiKey}`]) {
      const response = await fetch(`${gw.url}${route}`, {
        method,
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        ...(method === 'POST' ? { body: JSON.stringify({ message: 'hi', messages: [{ role: 'user', content: 'hi' }] }) } : {}),
      });
      expect(response.status).toBe(401);
      const body = await response.json();
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    }
  });

  it('starts a session when none is given and keeps its history', async () => {
    const first = await chat({ message: 'hello' });
    expect(first.status).toBe(200);
    const answer = await first.json();
    expect(answer.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.reply).toMatch(/clawdbot/i);
    expect(answer.model).toEqual({ provider: 'rules', name: 'rules' });

    await chat({ sessionId: answer.sessionId, message: 'help' });
    const history = await gw.deps.store.readList(sessionKey({ sessionId: answer.sessionId, principal: apiKeyId(gw.apiKey) }));
    expect(history.map((item) => JSON.parse(item).role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(JSON.parse(history[2]).content).toBe('help');
  });

  it.each(['dingtalk:cid-1:staff-1', 'feishu:oc_chat:ou_sender'])(
    'refuses the IM session id %s with a 400 naming sessionId, and leaves that session alone',
    async (sessionId) => {
      await gw.deps.store.appendToList(`session:${sessionId}`, JSON.stringify({ role: 'user', content: 'a private question' }), 20, 60);
      for (const stream of [false, true]) {
        const response = await chat({ sessionId, message: 'what did they ask?', stream });
        expect(response.status).toBe(400);
        expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', param: 'sessionId' });
      }
      expect(await gw.deps.store.readList(`session:${sessionId}`)).toHaveLength(1);
      expect((await chat({ sessionId: `my-${sessionId}`, message: 'hello' })).status).toBe(200);
    },
  );

  it('streams /api/chat as deltas, then the final reply, then [DONE]', async () => {
    const response = await chat({ sessionId: 'stream-1', message: 'what time is it', stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response);
    expect(events.at(-1)).toBe('[DONE]');
    const final = events.at(-2) as { sessionId: string; reply: string; model: unknown };
    expect(final).toMatchObject({ sessionId: 'stream-1', model: { provider: 'rules', name: 'rules' } });
    const deltas = events.slice(0, -2) as Array<{ delta: string }>;
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((e) => e.delta).join('')).toBe(final.reply);
    expect(final.reply).toMatch(/^It is /);
  });

  it('answers /v1/chat/completions like OpenAI', async () => {
    const response = await completions({ model: 'anything', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'rules' });
    expect(body.id).toBe(`chatcmpl-${response.headers.get('x-request-id')}`);
    expect(body.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' });
    expect(body.choices[0].message.content).toMatch(/clawdbot/i);
  });

  it('streams /v1/chat/completions as chat.completion.chunk events ending in [DONE]', async () => {
    const response = await completions({ messages: [{ role: 'user', content: 'help' }], stream: true });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<{ object: string; choices: Array<{ delta: { content?: string }; finish_reason: string | null }> }>;
    for (const chunk of chunks) expect(chunk.object).toBe('chat.completion.chunk');
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toMatch(/greet/);
    for (const chunk of chunks) expect(chunk).not.toHaveProperty('usage');
  });

  it('ends a stream with a usage chunk when asked (zero tokens for a rules answer, which asks no model)', async () => {
    const events = await readEvents(await completions({ messages: [{ role: 'user', content: 'help' }], stream: true, stream_options: { include_usage: true } }));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<{ choices: unknown[]; usage: unknown }>;
    expect(chunks.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
    expect(chunks.at(-2)?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
  });

  it('lists the current model on /v1/models', async () => {
    const response = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gw.apiKey}` } });
    const body = await response.json();
    expect(body.object).toBe('list');
    expect(body.data).toEqual([{ id: 'rules', object: 'model', owned_by: 'rules', created: expect.any(Number) }]);
  });

  describe('bad input never gets a 5xx', () => {
    const raw = (route: string, body: string, contentType = 'application/json') =>
      fetch(`${gw.url}${route}`, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${gw.apiKey}` }, body });

    it('malformed JSON is a 400', async () => {
      const response = await raw('/api/chat', '{"message": "hi"');
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    });

    it.each([
      ['/api/chat', { message: 42 }, 'message'],
      ['/api/chat', { message: '   ' }, 'message'],
      ['/api/chat', { message: 'hi', sessionId: 'has space' }, 'sessionId'],
      ['/api/chat', { message: 'hi', stream: 'yes' }, 'stream'],
      ['/v1/chat/completions', { messages: [] }, 'messages'],
      ['/v1/chat/completions', { messages: [{ role: 'user' }] }, 'messages[0].content'],
      ['/v1/chat/completions', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
      ['/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
      ['/v1/chat/completions', { messages: [{ role: 'assistant', content: null }] }, 'messages[0].content'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], temperature: 5 }, 'temperature'],
      // Fields the gateway cannot honour are refused, not silently dropped.
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'custom', custom: { name: 'f' } }] }, 'tools[0].type'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], tool_choice: 'auto' }, 'tool_choice'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], logprobs: true }, 'logprobs'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'f' }] }, 'functions'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], n: 2 }, 'n'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }, 'response_format.type'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], logit_bias: { '50256': -100 } }, 'logit_bias'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    ])('%s %j is a 400 naming %s', async (route, body, field) => {
      const response = await postJson(`${gw.url}${route}`, body, gw.apiKey);
      expect(response.status).toBe(400);
      const { error } = await response.json();
      expect(error.param).toBe(field);
      expect(error.message.startsWith(`${field}:`)).toBe(true);
    });

    it('a JSON value that is not an object is a 400 naming the body', async () => {
      for (const body of ['"hello"', '[1,2]', 'null']) {
        const response = await raw('/api/chat', body);
        expect(response.status).toBe(400);
        expect((await response.json()).error.param).toBe('body');
      }
    });

    it('a body over 1 MB is a 413', async () => {
      const response = await raw('/api/chat', JSON.stringify({ message: 'x'.repeat(1_100_000) }));
      expect(response.status).toBe(413);
      expect((await response.json()).error.code).toBe('request_too_large');
    });

    it.each([
      ['a form', 'message=hi', 'application/x-www-form-urlencoded'],
      ['JSON sent as text/plain', '{"message":"hi"}', 'text/plain'],
    ])('a body that is not JSON (%s) is a 415 asking for JSON', async (_case, body, type) => {
      const response = await raw('/api/chat', body, type);
      expect(response.status).toBe(415);
      expect((await response.json()).error.message).toMatch(/application\/json/);
    });

    it('prototype pollution attempts are refused, and the gateway keeps serving', async () => {
      const response = await raw('/api/chat', '{"message":"hi","__proto__":{"polluted":true}}');
      expect(response.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    });

    it.each([
      ['a Content-Length shorter than the body', 'Content-Length: 5\r\n\r\n{"message":"hello"}'],
      ['a broken request line', ''],
    ])('%s gets a 400 with an OpenAI-style body, not the framework default', async (_case, rest) => {
      const port = new URL(gw.url).port;
      const request = rest
        ? `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${gw.apiKey}\r\n${rest}`
        : 'THIS IS NOT HTTP\r\n\r\n';
      const answer = await new Promise<string>((resolve, reject) => {
        let received = '';
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
        socket.on('data', (data) => (received += data.toString()));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(head).toMatch(/\r\nContent-Type: application\/json/i);
      expect(JSON.parse(body)).toEqual({ error: { message: expect.stringMatching(/could not be read/), type: 'invalid_request_error', code: 'malformed_request', param: null } });
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    });

    it('an unknown route is a 404 with an OpenAI-style body', async () => {
      const response = await fetch(`${gw.url}/v1/nope`);
      expect(response.status).toBe(404);
      expect((await response.json()).error.type).toBe('not_found_error');
    });
  });
});

describe('readiness (/ready answers 503 with checks saying why)', () => {
  it('is not ready while the store is unreachable', async () => {
    const gw = await startGateway({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const response = await fetch(`${gw.url}/ready`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'unavailable',
        checks: { store: expect.stringMatching(/^the redis store is unavailable: /), model: 'ok' },
      });
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('is not ready once MODEL_KEY_EXPIRES_AT has passed, while the model runs on MODEL_API_KEY', async () => {
    const gw = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_API_KEY: 'sk-expired-0123456789abcdef', MODEL_KEY_EXPIRES_AT: '2020-01-31' });
    try {
      const response = await fetch(`${gw.url}/ready`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'unavailable',
        checks: { store: 'ok', model: 'the key of openai/gpt-4o-mini expired at 2020-01-31T00:00:00.000Z' },
      });

      // The rules engine needs no key: switched to it, the gateway is ready again.
      const switched = await fetch(`${gw.url}/admin/model`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'rules' }),
      });
      expect(switched.status).toBe(200);
      expect((await fetch(`${gw.url}/ready`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
