import fs from 'node:fs';
import path from 'node:path';
import { DATA_LAYOUT } from '../../app/src/contract';
import { startFakeAnthropic, startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson, readEvents } from '../helpers/http';

// Bodies a provider may answer 200 with that are not an answer, per protocol.
const MALFORMED = {
  openai: [{}, { choices: 'x' }, { choices: [] }, { choices: [{ message: {} }] }, { choices: [{ message: { content: 7 } }] }, 'not json at all', null],
  anthropic: [{}, { content: 'x' }, { content: [{ type: 'text' }] }, { content: [{ type: 'text', text: 5 }] }, 'not json at all', null],
};
// Stream events that are not what the protocol sends.
const MALFORMED_EVENTS = {
  openai: [
    { choices: 'x' },
    { choices: [{ delta: { content: 5 } }] },
    'text',
    // Text beside something wrong: the text alone does not make a chunk well-formed.
    { choices: [{ delta: { content: 'hi', tool_calls: 'x' } }] },
    { choices: [{ delta: { content: 'hi' }, finish_reason: 5 }] },
    { choices: [{ delta: { content: 'hi' } }, 'x'] },
  ],
  anthropic: [{}, { type: 'content_block_delta', delta: { type: 'text_delta' } }, { type: 'content_block_delta', delta: { type: 'text_delta', text: [] } }],
};

describe.each([
  ['openai', startFakeOpenAI],
  ['anthropic', startFakeAnthropic],
] as const)('a %s model that answers 200 with the wrong shape', (provider, startFake) => {
  let fake: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFake();
    gw = await startGateway({ MODEL_PROVIDER: provider, MODEL_API_KEY: 'sk-malformed-0123456789', MODEL_ENDPOINT: fake.url, MODEL_NAME: 'fake-model', ROUTING: 'llm', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const chat = (body: unknown) => postJson(`${gw.url}/api/chat`, body, gw.apiKey);
  let sessions = 0;
  const newSessionId = () => `session-${++sessions}`;
  const completions = (body: unknown) => postJson(`${gw.url}/v1/chat/completions`, body, gw.apiKey);
  const expectBadGateway = async (response: Response) => {
    expect(response.status).toBe(502);
    const { error } = await response.json();
    expect(error).toMatchObject({ type: 'api_error', code: 'model_invalid_response' });
    expect(error.message).toContain(`${provider} model fake-model`);
  };
  /** The history the model gets on the session's next turn: nothing of a failed one. */
  const expectSessionEmpty = async (sessionId: string) => {
    expect((await chat({ sessionId, message: 'next' })).status).toBe(200);
    expect(fake.completions().at(-1)?.body.messages).toHaveLength(1);
  };

  it.each(MALFORMED[provider].map((body) => [JSON.stringify(body), body]))('answers %s with a 502 naming the provider', async (_name, body) => {
    fake.enqueue({ body });
    await expectBadGateway(await completions({ messages: [{ role: 'user', content: 'hi' }] }));
    fake.enqueue({ body });
    const sessionId = newSessionId();
    await expectBadGateway(await chat({ sessionId, message: 'hi' }));
    await expectSessionEmpty(sessionId);
  });

  it.each(MALFORMED_EVENTS[provider].map((event) => [JSON.stringify(event), event]))('answers the stream event %s with a 502 before any header', async (_name, event) => {
    fake.enqueue({ body: event });
    await expectBadGateway(await completions({ messages: [{ role: 'user', content: 'hi' }], stream: true }));
    fake.enqueue({ body: event });
    const sessionId = newSessionId();
    await expectBadGateway(await chat({ sessionId, message: 'hi', stream: true }));
    await expectSessionEmpty(sessionId);
  });

  it('answers a reply without text with a 502, plain or streamed, and stores nothing', async () => {
    for (const stream of [false, true]) {
      fake.enqueue({ text: '' });
      await expectBadGateway(await chat({ sessionId: `empty-${stream}`, message: 'hi', stream }));
      await expectSessionEmpty(`empty-${stream}`);
    }
  });

  it('ends a stream whose text is only blanks with an error event once headers are sent, and stores nothing', async () => {
    fake.enqueue({ text: '   ' });
    const response = await chat({ sessionId: 'blank', message: 'hi', stream: true });
    expect(response.status).toBe(200);
    const events = await readEvents(response);
    expect(events.at(-2)).toMatchObject({ error: { code: 'model_invalid_response' } });
    expect(events.at(-1)).toBe('[DONE]');
    await expectSessionEmpty('blank');
    const day = new Date().toISOString().slice(0, 10);
    const log = fs.readFileSync(path.join(gw.dataDir, DATA_LAYOUT.conversations, `${day}.jsonl`), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.filter((record) => record.reply.trim() === '' && record.error === undefined)).toEqual([]);
  });
});

describe('PUT /admin/model with a model that answers with the wrong shape', () => {
  let fake: FakeLLM;
  let anthropic: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    [fake, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
    // The fuzz sends some 150 switches back to back: at the default 50 per second the rate
    // limit, not the switch, would answer some of them, and the final check, on a fast run.
    gw = await startGateway({ RATE_LIMIT_QPS: '100000' });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([fake.close(), anthropic.close()]);
  });

  const put = (body: unknown) =>
    fetch(`${gw.url}/admin/model`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.adminToken}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('refuses it with a 502 naming the provider and keeps the old model', async () => {
    for (const [provider, model, body] of [['openai', fake, { choices: 'x' }], ['anthropic', anthropic, { content: 'x' }]] as const) {
      model.enqueue({ body });
      const response = await put({ provider, name: 'fake-b', endpoint: model.url, apiKey: 'sk-new-0123456789' });
      expect(response.status).toBe(502);
      const { error } = await response.json();
      expect(error.code).toBe('model_invalid_response');
      expect(error.message).toContain(`${provider} model fake-b`);
      expect(error.message).toContain('still serving rules/rules');
    }
    expect((await (await fetch(`${gw.url}/admin/model`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).json()).model).toEqual({ provider: 'rules', name: 'rules' });
  });

  it('answers no fuzzed switch body with a 500: malformed bodies are 4xx, malformed models 502', async () => {
    // A small seeded generator (xorshift), so that a failure can be replayed.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const values = [undefined, null, 0, -1, 1e308, true, '', ' ', 'x'.repeat(5000), '\u0000', 'fake-b', [], {}, [1], { a: 1 }, 'http://', 'ftp://x', 'rules'];
    const endpoints = [fake.url, anthropic.url, `${fake.url}/`, 'not a url', ...values];
    const answers = [...MALFORMED.openai, ...MALFORMED.anthropic, ...MALFORMED_EVENTS.anthropic, 42, [], { choices: [{ message: { content: null } }], model: 5 }];
    const bodies: unknown[] = ['{', '[]', '"text"', 'null', '{"name":'];
    for (let i = 0; i < 150; i++) {
      const body: Record<string, unknown> = {};
      for (const field of ['provider', 'name', 'endpoint', 'apiKey', pick(['extra', 'provider'])]) {
        if (random() < 0.8) body[field] = field === 'provider' ? pick(['openai', 'anthropic', ...values]) : field === 'endpoint' ? pick(endpoints) : pick(values);
      }
      bodies.push(body);
    }
    for (const body of bodies) {
      fake.enqueue({ body: pick(answers) });
      anthropic.enqueue({ body: pick(answers) });
      const response = await put(body);
      const answer = await response.json();
      const upstream = response.status === 502 && ['model_invalid_response', 'model_unavailable'].includes(answer.error?.code);
      if (!(response.status < 500 || upstream)) throw new Error(`${JSON.stringify(body)} gave ${response.status}: ${JSON.stringify(answer)}`);
    }
    expect((await (await fetch(`${gw.url}/admin/model`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).json()).model).toEqual({ provider: 'rules', name: 'rules' });
  }, 60_000);
});
