import { startGatewayWithFakeModel, type TestGateway } from '../helpers/gateway';
import type { FakeLLM } from '../helpers/fake-llm';
import { postJson, readEvents } from '../helpers/http';

const [KEY_A, KEY_B] = ['key-a-0123456789abcdef', 'key-b-0123456789abcdef'];

describe('/api/chat sessions belong to the API key that made them', () => {
  let gw: TestGateway & { fake: FakeLLM };
  beforeAll(async () => {
    gw = await startGatewayWithFakeModel({ CLAWDBOT_API_KEYS: `${KEY_A},${KEY_B}`, CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => gw.close());

  const chat = (body: unknown, key: string) => postJson(`${gw.url}/api/chat`, body, key);
  const sentToModel = () => JSON.stringify(gw.fake.completions().at(-1)?.body.messages);

  it.each([false, true])('another key naming the session gets a new, empty one (stream: %s)', async (stream) => {
    const sessionId = `shared-${stream}`;
    expect((await chat({ sessionId, message: 'my password is hunter2' }, KEY_A)).status).toBe(200);

    const intruder = await chat({ sessionId, message: 'what is my password?', stream }, KEY_B);
    expect(intruder.status).toBe(200);
    const final = stream ? (await readEvents(intruder)).find((event) => typeof event === 'object' && event && 'sessionId' in event) : await intruder.json();
    expect(final).toMatchObject({ sessionId });
    expect(sentToModel()).not.toContain('hunter2');
    expect(gw.fake.completions().at(-1)?.body.messages).toHaveLength(1);

    // The owner's history is intact, and holds nothing of the other key's turn.
    expect((await chat({ sessionId, message: 'and again?' }, KEY_A)).status).toBe(200);
    expect(sentToModel()).toContain('hunter2');
    expect(sentToModel()).not.toContain('what is my password?');
  });
});
