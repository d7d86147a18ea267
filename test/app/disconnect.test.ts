import { startFakeOpenAI, type FakeLLM } from '../helpers/fake-llm';
import { sessionKey } from '../../app/src/chat/sessions';
import { apiKeyId } from '../../app/src/http/auth';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { postJson } from '../helpers/http';

describe('a client that hangs up', () => {
  let fake: FakeLLM;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway({ MODEL_PROVIDER: 'openai', MODEL_ENDPOINT: fake.url, MODEL_API_KEY: 'sk-disconnect-0123456789', ROUTING: 'llm', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  const waitFor = async (condition: () => boolean | Promise<boolean>) => {
    while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  it('mid-stream: the model call stops, nothing is stored, the gateway keeps serving', async () => {
    fake.enqueue({ text: 'one two three four', stallAfterChunks: 1 });
    const controller = new AbortController();
    const response = await fetch(`${gw.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.apiKey}` },
      body: JSON.stringify({ sessionId: 'gone', message: 'start streaming', stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('"delta"');
    controller.abort();

    // The gateway hangs up on the provider too: the stalled answer is not left holding a connection.
    await waitFor(() => fake.completions().at(-1)!.hungUp);
    await waitFor(async () => (await gw.readLog('model_api.log')).includes('"outcome":"abandoned"'));
    expect(await gw.deps.store.readList(sessionKey({ sessionId: 'gone', principal: apiKeyId(gw.apiKey) }))).toEqual([]);
    expect((await postJson(`${gw.url}/api/chat`, { message: 'still there?' }, gw.apiKey)).status).toBe(200);
  });

  it('while the model thinks: the call is cancelled and counted as 499, not as a 5xx', async () => {
    fake.enqueue({ text: 'too late', delayMs: 5_000 });
    const controller = new AbortController();
    const pending = postJsonWithSignal(`${gw.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'slow one' }] }, gw.apiKey, controller.signal);
    await waitFor(() => fake.completions().some((r) => r.body.messages[0].content === 'slow one'));
    controller.abort();
    await expect(pending).rejects.toThrow();

    await waitFor(async () => (await gw.readLog('access.log')).includes('"status":499'));
    const lines = (await gw.readLog('access.log')).trim().split('\n').map((line) => JSON.parse(line));
    // The client's address, although its socket was gone by the time the line was written.
    expect(lines.find((line) => line.status === 499 && line.route === '/v1/chat/completions')).toMatchObject({ ip: '127.0.0.1' });
    const metrics = await (await fetch(gw.metricsUrl)).text();
    expect(metrics).not.toMatch(/^clawdbot_http_5xx_total/m);
    expect(metrics).not.toMatch(/^clawdbot_model_failures_total\{/m);
  });
});

function postJsonWithSignal(url: string, body: unknown, token: string, signal: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), signal });
}
