import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { describeError, GatewayError, terminalClient, type GatewayClient } from '../../app/src/tui/client';
import type { FakeLLM } from '../helpers/fake-llm';
import { startGateway, startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('terminal client against a gateway with a fake model', () => {
  let gw: TestGateway & { fake: FakeLLM };
  let client: GatewayClient;
  let url: URL;
  beforeAll(async () => {
    // A stalled stream becomes a model_timeout this soon.
    gw = await startGatewayWithFakeModel({ MODEL_TIMEOUT_SECONDS: '1' });
    url = new URL(gw.url);
    client = terminalClient(url, gw.apiKey);
  });
  afterAll(() => gw.close());

  it('streams a reply in pieces and continues the same session', async () => {
    gw.fake.enqueue({ text: 'first answer comes in several words' });
    const deltas: string[] = [];
    const first = await client.chat({ message: 'remember the word teapot' }, (d) => deltas.push(d));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('first answer comes in several words');
    expect(first).toMatchObject({ reply: 'first answer comes in several words', model: { provider: 'openai', name: 'fake-gpt' } });

    await client.chat({ message: 'what was the word?', sessionId: first.sessionId }, () => {});
    const history = gw.fake.completions().at(-1)?.body.messages.map((m: { content: string }) => m.content);
    expect(history).toEqual(expect.arrayContaining(['remember the word teapot', 'first answer comes in several words', 'what was the word?']));
  });

  it('reports the current model', async () => {
    expect(await client.currentModel()).toEqual({ name: 'fake-gpt', provider: 'openai' });
  });

  it('names CLAWDBOT_API_KEY when the gateway rejects the key', async () => {
    const error = await failure(terminalClient(url, 'not-a-valid-key-000').currentModel());
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(401);
    expect(describeError(error, url)).toBe("The gateway rejected CLAWDBOT_API_KEY. Use one of the gateway's API keys.");
  });

  it('says the model is down when it fails before replying', async () => {
    gw.fake.enqueue({ status: 401 });
    const error = await failure(client.chat({ message: 'are you there?' }, () => {}));
    expect((error as GatewayError).status).toBe(502);
    expect(describeError(error, url)).toMatch(/^The model is not available right now \(openai model fake-gpt failed/);
  });

  it('passes on an error that arrives after part of the reply', async () => {
    gw.fake.enqueue({ text: 'this reply stalls after three words', stallAfterChunks: 3 });
    const deltas: string[] = [];
    const error = await failure(client.chat({ message: 'tell me a long story' }, (d) => deltas.push(d)));
    expect(deltas.join('')).toBe('this reply stalls ');
    expect(error).toMatchObject({ status: undefined, code: 'model_timeout' });
    expect(describeError(error, url)).toBe('The model did not answer in time. Try again in a moment.');
  });

  it('names CLAWDBOT_URL when the gateway cannot be reached', async () => {
    const closed = net.createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const nowhere = new URL(`http://127.0.0.1:${(closed.address() as AddressInfo).port}`);
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(terminalClient(nowhere, 'any-key-0123456789').currentModel());
    expect(describeError(error, nowhere)).toBe(
      `Cannot reach the gateway at ${nowhere.origin} (CLAWDBOT_URL) (ECONNREFUSED). Check that it is running and can be reached from here.`,
    );
  });
});

describe('terminal client and the rate limit', () => {
  it('reports a 429 with the wait from Retry-After', async () => {
    const gw = await startGateway({ RATE_LIMIT_QPS: '0.02' });
    try {
      const url = new URL(gw.url);
      const client = terminalClient(url, gw.apiKey);
      await client.currentModel();
      const error = await failure(client.chat({ message: 'hello' }, () => {}));
      expect(error).toMatchObject({ status: 429 });
      const wait = (error as GatewayError).retryAfterSeconds ?? 0;
      expect(wait).toBeGreaterThan(0);
      expect(describeError(error, url)).toBe(`Too many requests: the gateway is rate limiting. Try again in ${wait} seconds.`);
    } finally {
      await gw.close();
    }
  });
});
