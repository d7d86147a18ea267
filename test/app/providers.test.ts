import { LOG_FILES } from '../../app/src/contract';
import { startFakeAnthropic, startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson, readEvents } from '../helpers/http';

const MODEL_KEY = 'sk-test-provider-key-0123456789abcdef';
const PICTURE = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';


describe.each([
  ['openai', startFakeOpenAI, 'gpt-4o-mini'],
  ['anthropic', startFakeAnthropic, 'claude-sonnet-4-6'],
] as const)('%s provider through the gateway', (provider, startFake, modelName) => {
  let fake: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFake();
    gw = await startGateway({
      MODEL_PROVIDER: provider,
      MODEL_NAME: modelName,
      MODEL_ENDPOINT: fake.url,
      MODEL_API_KEY: MODEL_KEY,
      MODEL_TIMEOUT_SECONDS: '0.5',
      ROUTING: 'llm',
      CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const complete = (body: Record<string, unknown>) =>
    postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'tell me something' }], ...body }, gw.apiKey);

  it('sends the conversation with the key and returns the answer', async () => {
    fake.enqueue({ text: 'something true' });
    const response = await complete({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'tell me something' }] });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.choices[0].message.content).toBe('something true');
    expect(body.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5 });

    const sent = fake.completions().at(-1)!;
    expect(sent.body.model).toBe(modelName);
    if (provider === 'openai') {
      expect(sent.headers.authorization).toBe(`Bearer ${MODEL_KEY}`);
      expect(sent.body.messages).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'tell me something' }]);
    } else {
      // The SDK sends the key as x-api-key or as a bearer token, depending on its version.
      expect(sent.headers['x-api-key'] ?? sent.headers.authorization?.replace(/^Bearer /, '')).toBe(MODEL_KEY);
      expect(sent.body.system).toBe('be brief');
      expect(sent.body.messages).toEqual([{ role: 'user', content: 'tell me something' }]);
    }
  });

  it('passes the sampling parameters and the end user the provider has on to it, and accepts the harmless rest', async () => {
    fake.enqueue({ text: 'sampled' });
    const response = await complete({
      top_p: 0.9,
      stop: 'END',
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 7,
      user: 'end-user-1',
      n: 1,
      response_format: { type: 'text' },
      stream_options: { include_usage: false },
    });
    expect(response.status).toBe(200);
    const sent = fake.completions().at(-1)!.body;
    for (const field of ['n', 'response_format', 'stream_options']) expect(sent).not.toHaveProperty(field);
    if (provider === 'openai') {
      expect(sent).toMatchObject({ top_p: 0.9, stop: ['END'], presence_penalty: 0.5, frequency_penalty: 0.25, seed: 7, user: 'end-user-1' });
    } else {
      expect(sent).toMatchObject({ top_p: 0.9, stop_sequences: ['END'], metadata: { user_id: 'end-user-1' } });
      for (const field of ['presence_penalty', 'frequency_penalty', 'seed']) expect(sent).not.toHaveProperty(field);
    }
  });

  it('leaves the answer length and temperature to the provider when the client sets none, and forwards max_completion_tokens', async () => {
    fake.enqueue({ text: 'defaults' }, { text: 'limited' });
    // null is "not set", as in OpenAI's API.
    expect((await complete({ max_tokens: null, temperature: null, stop: null, seed: null, stream_options: null })).status).toBe(200);
    const defaults = fake.completions().at(-1)!.body;
    expect((await complete({ max_completion_tokens: 7, temperature: 0.2 })).status).toBe(200);
    const limited = fake.completions().at(-1)!.body;
    expect(defaults).not.toHaveProperty('temperature');
    if (provider === 'openai') {
      expect(defaults).not.toHaveProperty('max_tokens');
      expect(defaults).not.toHaveProperty('max_completion_tokens');
      // Not OpenAI itself (MODEL_ENDPOINT is the fake): compatible providers know max_tokens.
      expect(limited).toMatchObject({ max_tokens: 7, temperature: 0.2 });
    } else {
      // Anthropic requires a length: its default applies.
      expect(defaults.max_tokens).toBe(4096);
      expect(limited).toMatchObject({ max_tokens: 7, temperature: 0.2 });
    }
  });

  it('streams the provider deltas through', async () => {
    fake.enqueue({ text: 'one two three' });
    const events = await readEvents(await complete({ stream: true }));
    const chunks = events.slice(0, -1) as Array<{ choices: Array<{ delta: { content?: string } }> }>;
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('one two three');
    expect(events.at(-1)).toBe('[DONE]');
    for (const chunk of chunks) expect(chunk).not.toHaveProperty('usage');
    expect(fake.completions().at(-1)!.body).not.toHaveProperty('stream_options');
  });

  it('ends a stream with the provider\'s usage when the client asks for it', async () => {
    fake.enqueue({ text: 'one two three' });
    const events = await readEvents(await complete({ stream: true, stream_options: { include_usage: true } }));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<{ choices: Array<{ delta: { content?: string } }>; usage: unknown }>;
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join('')).toBe('one two three');
    // OpenAI-compatible providers report usage in a stream only when asked; Anthropic always does.
    if (provider === 'openai') expect(fake.completions().at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  it('retries 429 and 5xx with backoff, then answers', async () => {
    const before = fake.completions().length;
    fake.enqueue({ status: 429, headers: { 'retry-after-ms': '10' } }, { status: 503, headers: { 'retry-after-ms': '10' } }, { text: 'third time lucky' });
    const response = await complete({});
    expect(response.status).toBe(200);
    expect((await response.json()).choices[0].message.content).toBe('third time lucky');
    expect(fake.completions().length - before).toBe(3);
  });

  it('sends calls in a row over one kept-alive connection', async () => {
    const before = fake.completions().length;
    for (const text of ['first', 'second']) {
      fake.enqueue({ text });
      expect((await complete({})).status).toBe(200);
    }
    const [first, second] = fake.completions().slice(before);
    expect(second.clientPort).toBe(first.clientPort);
  });

  it('answers 502 naming the status when the provider redirects, without following it', async () => {
    const before = fake.completions().length;
    // Followed, the redirect would reach the fake again and get its default answer.
    fake.enqueue({ status: 307, headers: { location: provider === 'openai' ? '/v1/chat/completions' : '/v1/messages' } });
    const response = await complete({});
    expect(response.status).toBe(502);
    expect((await response.json()).error.message).toContain('HTTP 307');
    expect(fake.completions().length - before).toBe(1);
  });

  it('answers 502 with an OpenAI-style body when the provider keeps failing', async () => {
    fake.enqueue(...Array(3).fill({ status: 500, headers: { 'retry-after-ms': '10' } }));
    const response = await complete({});
    expect(response.status).toBe(502);
    const { error } = await response.json();
    expect(error).toMatchObject({ type: 'api_error', code: 'model_unavailable' });
    expect(error.message).toContain('HTTP 500');
  });

  it.each([400, 413, 422])('answers 400 with the provider reason (never a 5xx) when the provider refuses the request with %i', async (status) => {
    const before = fake.completions().length;
    const reason = `This model's maximum context length is 8192 tokens (request made with key ${MODEL_KEY})`;
    fake.enqueue({ status, error: { message: reason, code: 'context_length_exceeded' } });
    const response = await complete({});
    expect(response.status).toBe(400);
    const { error } = await response.json();
    expect(error).toMatchObject({ type: 'invalid_request_error', code: provider === 'openai' ? 'context_length_exceeded' : 'invalid_request' });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain("maximum context length is 8192 tokens");
    expect(error.message).not.toContain(MODEL_KEY);
    // A refused request is not retried: it would be refused again.
    expect(fake.completions().length - before).toBe(1);
  });

  it('answers 400 before a stream starts when the provider refuses the request', async () => {
    fake.enqueue({ status: 400, error: { message: 'image_url could not be downloaded' } });
    const response = await complete({ stream: true });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain('image_url could not be downloaded');
  });

  it.each([401, 403, 404])('keeps 502 for a provider %i: our key, account or model name is wrong, not the request', async (status) => {
    fake.enqueue({ status });
    const response = await complete({});
    expect(response.status).toBe(502);
    expect((await response.json()).error).toMatchObject({ type: 'api_error', code: 'model_unavailable' });
  });

  it('answers 504 when the provider does not answer within MODEL_TIMEOUT_SECONDS', async () => {
    fake.enqueue({ hang: true });
    const response = await complete({});
    expect(response.status).toBe(504);
    expect((await response.json()).error).toMatchObject({ type: 'api_error', code: 'model_timeout' });
  });

  it('ends a stream that stalls with an error event and [DONE]', async () => {
    fake.enqueue({ text: 'a b c d', stallAfterChunks: 1 });
    const events = await readEvents(await complete({ stream: true }));
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatchObject({ error: { code: 'model_timeout' } });
  });

  it('ends a stream whose provider drops the connection with an error event and [DONE], not a finish', async () => {
    fake.enqueue({ text: 'a b c d', dropAfterChunks: 2 });
    const events = await readEvents(await complete({ stream: true }));
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatchObject({ error: { code: 'model_unavailable' } });
    expect(events).not.toContainEqual(expect.objectContaining({ choices: [expect.objectContaining({ finish_reason: expect.any(String) })] }));
  });

  it('sends pictures as image parts to a vision model', async () => {
    fake.enqueue({ text: 'a red pixel' });
    const response = await complete({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: PICTURE } }] }],
    });
    expect(response.status).toBe(200);
    const content = fake.completions().at(-1)!.body.messages[0].content;
    if (provider === 'openai') {
      expect(content).toEqual([{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: PICTURE } }]);
    } else {
      expect(content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PICTURE.split(',')[1] } });
    }
  });

  it('never writes the model key to any log', async () => {
    const logs = await Promise.all(Object.values(LOG_FILES).map((file) => gw.readLog(file)));
    expect(logs.join('').length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain(MODEL_KEY);
  });
});

describe('a model without vision', () => {
  it('refuses pictures with a 400 instead of dropping them silently', async () => {
    const fake = await startFakeOpenAI();
    const gw = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_NAME: 'deepseek-chat', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: MODEL_KEY });
    try {
      const response = await postJson(
        `${gw.url}/v1/chat/completions`,
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PICTURE } }] }] },
        gw.apiKey,
      );
      expect(response.status).toBe(400);
      expect((await response.json()).error.code).toBe('images_not_supported');
      expect(fake.completions()).toHaveLength(0);
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});

describe("an OpenAI-compatible provider's stream, read through the gateway", () => {
  let fake: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: MODEL_KEY, ROUTING: 'llm', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it('passes streamed text with quotes, backslashes, line breaks and non-ASCII through unchanged', async () => {
    const text = 'He said "hi" \\ then\nleft: 你好 ✓ \u2028 </script> end';
    fake.enqueue({ text });
    const events = await readEvents(await postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true }, gw.apiKey));
    const chunks = events.slice(0, -1) as Array<{ id: string; choices: Array<{ delta: { content?: string } }> }>;
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe(text);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('answers 502 with the provider\'s message, not a made-up connection failure', async () => {
    fake.enqueue({ body: { error: { message: 'The server is overloaded', type: 'server_error' } } });
    const response = await postJson(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true }, gw.apiKey);
    expect(response.status).toBe(502);
    const { error } = await response.json();
    expect(error).toMatchObject({ type: 'api_error', code: 'model_unavailable' });
    expect(error.message).toContain('The server is overloaded');
    expect(error.message).not.toContain('cannot be reached');
  });
});
