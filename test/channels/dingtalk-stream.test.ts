import { MemoryStore } from '../../app/src/store/memory';
import { type FakeDingtalk, dingtalkEnv, startFakeDingtalk } from '../helpers/fake-dingtalk';
import { startGateway } from '../helpers/gateway';
import { type ChannelsApp, channelsAppPerTest, deferred } from './harness';

// The SDK prints its connection state with console.info and .warn; keep the test output readable.
beforeAll(() => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterAll(() => jest.restoreAllMocks());

describe('DingTalk Stream mode that cannot connect', () => {
  it('is not ready, says why in /ready, and logs the failure instead of keeping it to the SDK', async () => {
    const unreachable = await startFakeDingtalk();
    await unreachable.close(); // nothing listens on its port any more
    const gw = await startGateway(dingtalkEnv(unreachable, { DINGTALK_MODE: 'stream' }));
    try {
      let ready: Response;
      do ready = await fetch(`${gw.url}/ready`);
      while ((await ready.clone().json()).checks.dingtalk_stream === 'not connected yet');
      expect(ready.status).toBe(503);
      expect((await ready.json()).checks).toEqual({ store: 'ok', model: 'ok', dingtalk_stream: expect.stringMatching(/^not connected: .*connections\/open/) });
      expect(await gw.readLog('error.log')).toMatch(/"connection":"DingTalk Stream"[^\n]*could not connect; retrying/);
    } finally {
      await gw.close();
    }
  });
});

describe('DingTalk Stream mode (DINGTALK_MODE=stream)', () => {
  let fake: FakeDingtalk;
  let gw: ChannelsApp;
  let store: MemoryStore;

  channelsAppPerTest(
    startFakeDingtalk,
    (started) => dingtalkEnv(started, { DINGTALK_MODE: 'stream' }),
    (started) => ({ fake, gw } = started),
    () => ({ store: (store = new MemoryStore()) }),
  );
  beforeEach(() => fake.streamConnected());

  it('opens the connection at DINGTALK_API_BASE with the app credentials and serves no callback route', async () => {
    const [open] = fake.received(/gateway\/connections\/open$/);
    expect(open.body).toMatchObject({ clientId: 'dingtestappkey', clientSecret: 'dingtalk-test-app-secret-value' });
    expect(open.body.subscriptions).toEqual(expect.arrayContaining([{ type: 'CALLBACK', topic: '/v1.0/im/bot/messages/get' }]));
    expect((await fetch(`${gw.url}/api/dingtalk/callback`, { method: 'POST' })).status).toBe(404);
  });

  it('ACKs every push and answers a message re-pushed after a lost ACK only once', async () => {
    const message = fake.robotMessage({ msgId: 'stream-1', text: 'over the stream' });
    const first = fake.pushRobotMessage(message);
    const again = fake.pushRobotMessage(message);
    await fake.waitForAcks(2);
    expect(gw.deps.readiness.run()).toEqual({ dingtalk_stream: 'ok' });
    expect(fake.streamAcks.map((ack) => ack.messageId).sort()).toEqual([first, again].sort());
    expect(fake.streamAcks[0].data).toEqual({ response: {} });
    await fake.waitFor(/^\/robot\/sendBySession$/);
    await gw.close();
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0].body.markdown.text).toBe('echo: over the stream');
    expect(gw.chat.turns[0].sessionId).toBe('dingtalk:cid-single-1:staff-1');
  });

  it('ACKs but refuses a push whose webhook is on another origin', async () => {
    fake.pushRobotMessage(fake.robotMessage({ sessionWebhook: 'https://evil.example.com/hook' }));
    await fake.waitForAcks(1);
    await gw.close();
    expect(fake.sent).toHaveLength(0);
    expect(gw.chat.turns).toHaveLength(0);
    expect(await gw.metric('clawdbot_channel_refused_total', { channel: 'dingtalk', outcome: 'foreign_webhook' })).toBe(1);
  });

  it('withholds the ACK when the message cannot be recorded, so DingTalk pushes it again', async () => {
    const setIfAbsent = store.setIfAbsent.bind(store);
    const attempted = deferred();
    store.setIfAbsent = async () => {
      attempted.resolve();
      throw new Error('store down');
    };
    const lost = fake.pushRobotMessage(fake.robotMessage({ msgId: 'stream-2' }));
    await attempted.promise;
    store.setIfAbsent = setIfAbsent;
    const redelivered = fake.pushRobotMessage(fake.robotMessage({ msgId: 'stream-2' }));
    await fake.waitForAcks(1);
    expect(fake.streamAcks.map((ack) => ack.messageId)).toEqual([redelivered]);
    expect(fake.streamAcks.map((ack) => ack.messageId)).not.toContain(lost);
    await gw.close();
    expect(fake.sent).toHaveLength(1);
    expect(await gw.metric('clawdbot_channel_failures_total', { channel: 'dingtalk', outcome: 'store' })).toBe(1);
  });
});
