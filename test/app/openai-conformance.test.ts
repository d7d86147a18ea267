/**
 * Every response shape of /v1 validated against OpenAI's published OpenAPI schemas (the
 * vendored subset, see test/helpers/openai-spec.ts): plain answers, each streamed chunk, the
 * usage chunk, tool calls, answers cut at the length limit, the models list and item, and
 * every error status.
 */
import { startFakeAnthropic, startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson, readEvents } from '../helpers/http';
import { specProblems } from '../helpers/openai-spec';

const MODEL_KEY = 'sk-test-provider-key-0123456789abcdef';
const WEATHER_CALL = { id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', description: 'the weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

/** Asserts the response is JSON that conforms to `schema`, and returns it. */
async function conformingJson(response: Response, schema: Parameters<typeof specProblems>[0]) {
  expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  const body = await response.json();
  expect(specProblems(schema, body)).toEqual([]);
  return body;
}

/** Asserts every event is a conforming chunk (or an error body), and returns the chunks. */
async function conformingChunks(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  const events = await readEvents(response);
  expect(events.at(-1)).toBe('[DONE]');
  const chunks = events.slice(0, -1) as Array<Record<string, any>>;
  for (const chunk of chunks) {
    expect(specProblems(chunk.error ? 'ErrorResponse' : 'CreateChatCompletionStreamResponse', chunk)).toEqual([]);
  }
  return chunks;
}

describe('/v1 conforms to OpenAI\'s spec: rules model', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  const completions = (body: unknown) => postJson(`${gw.url}/v1/chat/completions`, body, gw.apiKey);
  const get = (route: string) => fetch(`${gw.url}${route}`, { headers: { authorization: `Bearer ${gw.apiKey}` } });

  it('a plain answer, with logprobs and refusal null and zero tokens used', async () => {
    const response = await completions({ messages: [{ role: 'user', content: 'hello' }] });
    expect(response.status).toBe(200);
    const body = await conformingJson(response, 'CreateChatCompletionResponse');
    expect(body.choices[0]).toMatchObject({ logprobs: null, finish_reason: 'stop', message: { refusal: null } });
    expect(body.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('each streamed chunk, and the usage chunk (zero tokens)', async () => {
    const chunks = await conformingChunks(await completions({ messages: [{ role: 'user', content: 'help' }], stream: true, stream_options: { include_usage: true } }));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
  });

  it('a system-only conversation is answered', async () => {
    const response = await completions({ messages: [{ role: 'system', content: 'you are a bot' }] });
    expect(response.status).toBe(200);
    await conformingJson(response, 'CreateChatCompletionResponse');
  });

  it('the models list and the model item', async () => {
    const list = await conformingJson(await get('/v1/models'), 'ListModelsResponse');
    const item = await conformingJson(await get(`/v1/models/${list.data[0].id}`), 'Model');
    expect(item).toEqual(list.data[0]);
  });

  it.each([
    ['an unknown model (404)', () => get('/v1/models/gpt-9'), 404, 'model'],
    ['malformed JSON (400)', () => fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.apiKey}` }, body: '{"messages"' }), 400, null],
    ['a bad field (400)', () => completions({ messages: [{ role: 'user', content: 'x' }], temperature: 9 }), 400, 'temperature'],
    ['tools for the rules engine (400 naming the model)', () => completions({ messages: [{ role: 'user', content: 'x' }], tools: [WEATHER_TOOL] }), 400, 'tools'],
    ['no API key (401)', () => fetch(`${gw.url}/v1/models`), 401, null],
    ['an unknown route (404)', () => get('/v1/nothing'), 404, null],
    ['a body over 1 MB (413)', () => completions({ messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] }), 413, null],
    ['a body that is not JSON (415)', () => fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${gw.apiKey}` }, body: 'message=hi' }), 415, null],
  ])('the error body of %s', async (_, send, status, param) => {
    const response = await send();
    expect(response.status).toBe(status);
    const { error } = await conformingJson(response, 'ErrorResponse');
    expect(error.param).toBe(param);
  });

  it('the rules engine refuses tools with a message naming the model', async () => {
    for (const stream of [false, true]) {
      const response = await completions({ messages: [{ role: 'user', content: 'hello' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: 'sunny' }], stream });
      expect(response.status).toBe(400);
      const { error } = await response.json();
      expect(error).toMatchObject({ code: 'tools_not_supported', param: 'messages' });
      expect(error.message).toContain('rules/rules');
    }
  });

  it('sends x-request-id on every response, the reqId of its access.log line', async () => {
    const response = await get('/v1/models');
    const id = response.headers.get('x-request-id');
    const lines = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.find((line) => line.reqId === id)).toMatchObject({ path: '/v1/models', status: 200 });
  });

  it('a streamed answer too: its headers, access.log line and request metrics', async () => {
    const response = await completions({ messages: [{ role: 'user', content: 'help' }], stream: true });
    const id = response.headers.get('x-request-id');
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect((await readEvents(response)).at(-1)).toBe('[DONE]');
    const lines = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.find((line) => line.reqId === id)).toMatchObject({ path: '/v1/chat/completions', status: 200 });
    const metrics = await (await fetch(gw.metricsUrl)).text();
    expect(metrics).toMatch(/^clawdbot_http_requests_total\{[^}]*route="\/v1\/chat\/completions"[^}]*status="200"[^}]*\} [1-9]/m);
  });
});

describe('/v1 conforms to OpenAI\'s spec: 429', () => {
  it('the error body of a rate-limited request', async () => {
    const gw = await startGateway({ RATE_LIMIT_QPS: '0.001' });
    try {
      const get = () => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${gw.apiKey}` } });
      await get();
      const response = await get();
      expect(response.status).toBe(429);
      expect((await conformingJson(response, 'ErrorResponse')).error.param).toBeNull();
    } finally {
      await gw.close();
    }
  });
});

describe.each([
  ['openai', startFakeOpenAI],
  ['anthropic', startFakeAnthropic],
] as const)('/v1 conforms to OpenAI\'s spec: %s provider', (provider, startFake) => {
  let fake: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFake();
    gw = await startGateway({ MODEL_PROVIDER: provider, MODEL_ENDPOINT: fake.url, MODEL_API_KEY: MODEL_KEY, MODEL_TIMEOUT_SECONDS: '0.3', ROUTING: 'llm', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const ask = (body: Record<string, unknown> = {}) =>
    postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'weather in Paris?' }], ...body }, gw.apiKey);

  it('a plain answer with the provider\'s usage', async () => {
    fake.enqueue({ text: 'sunny' });
    const body = await conformingJson(await ask(), 'CreateChatCompletionResponse');
    expect(body.choices[0]).toMatchObject({ message: { content: 'sunny' }, finish_reason: 'stop' });
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  it('a plain answer cut at max_tokens says "length"', async () => {
    fake.enqueue({ text: 'it is sun', finish: 'length' });
    const body = await conformingJson(await ask({ max_tokens: 3 }), 'CreateChatCompletionResponse');
    expect(body.choices[0].finish_reason).toBe('length');
  });

  it('a streamed answer cut at max_tokens says "length", and ends with the usage chunk', async () => {
    fake.enqueue({ text: 'it is sun', finish: 'length' });
    const chunks = await conformingChunks(await ask({ max_completion_tokens: 3, stream: true, stream_options: { include_usage: true } }));
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } });
  });

  it('a plain tool call: content null, finish_reason "tool_calls"', async () => {
    fake.enqueue({ toolCalls: [WEATHER_CALL] });
    const body = await conformingJson(await ask({ tools: [WEATHER_TOOL] }), 'CreateChatCompletionResponse');
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { content: null, tool_calls: [{ id: WEATHER_CALL.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    });
  });

  it('a streamed tool call', async () => {
    fake.enqueue({ toolCalls: [WEATHER_CALL] });
    const chunks = await conformingChunks(await ask({ tools: [WEATHER_TOOL], stream: true }));
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', tool_calls: [{ index: 0, id: WEATHER_CALL.id, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('the error bodies of a failed (502) and a timed-out (504) model call, and of a failure mid-stream', async () => {
    fake.enqueue({ status: 401 });
    const failed = await ask();
    expect(failed.status).toBe(502);
    await conformingJson(failed, 'ErrorResponse');

    fake.enqueue({ hang: true });
    const late = await ask();
    expect(late.status).toBe(504);
    await conformingJson(late, 'ErrorResponse');

    fake.enqueue({ text: 'one two three four', stallAfterChunks: 1 });
    const chunks = await conformingChunks(await ask({ stream: true }));
    expect(chunks.at(-1)?.error).toMatchObject({ code: 'model_timeout', param: null });
  });
});
