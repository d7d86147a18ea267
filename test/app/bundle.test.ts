import { spawnGateway, startGateway, type SpawnedGateway, type TestGateway } from '../helpers/gateway';

// app/build.js leaves out of the bundle what the gateway never runs (zod's other locales,
// @fastify/static's glob): the bundled gateway must still answer as the sources do.
describe('the bundled gateway (app/dist/main.js and gateway.js) beside the sources', () => {
  let bundled: SpawnedGateway;
  let sources: TestGateway;
  beforeAll(async () => {
    const env = { CLAWDBOT_API_KEYS: 'bundle-check-key-0123456789' };
    [bundled, sources] = await Promise.all([spawnGateway(env), startGateway(env)]);
  }, 120_000);
  afterAll(async () => {
    await bundled?.stop();
    await sources?.close();
  });

  const chat = (gateway: { url: string; apiKey: string }, body: unknown) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.apiKey}` },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));

  it.each([
    ['a wrong type', { messages: 'hello' }],
    ['a number out of range', { messages: [{ role: 'user', content: 'hi' }], temperature: 9 }],
    ['an unknown role', { messages: [{ role: 'boss', content: 'hi' }] }],
    ['an unknown field', { messages: [{ role: 'user', content: 'hi' }], colour: 'red' }],
  ])('words the error for %s in the same English', async (_case, body) => {
    const fromBundle = await chat(bundled, body);
    expect(fromBundle.status).toBe(400);
    expect(fromBundle).toEqual(await chat(sources, body));
  });

  it("starts with the build's code cache (app/dist/gateway.cache: it warns when it cannot)", () => {
    expect(bundled.output()).not.toMatch(/CodeCacheWarning/);
  });

  it('serves the web page and its vendored files', async () => {
    for (const file of ['/', '/vendor/markdown-it.js', '/vendor/highlight/languages/python.js']) {
      const [fromBundle, fromSources] = await Promise.all([fetch(`${bundled.url}${file}`), fetch(`${sources.url}${file}`)]);
      expect([file, fromBundle.status, fromBundle.headers.get('content-type')]).toEqual([file, 200, fromSources.headers.get('content-type')]);
      expect(await fromBundle.text()).toBe(await fromSources.text());
    }
  });
});
