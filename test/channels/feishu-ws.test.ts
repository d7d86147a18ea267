import { MemoryStore } from '../../app/src/store/memory';
import { FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_BOT_OPEN_ID, type FakeFeishu, messageEvent, startFakeFeishu } from '../helpers/fake-feishu';
import { type ChannelsApp, channelsAppPerTest, deferred } from './harness';

const HANDLED = 200;
const FAILED = 500;

describe('Feishu long connection (FEISHU_MODE=ws)', () => {
  let fake: FakeFeishu;
  let gw: ChannelsApp;
  let store: MemoryStore;

  channelsAppPerTest(
    startFakeFeishu,
    // No verification token or encrypt key: the connection is authenticated by the app secret.
    (started) => ({ FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_MODE: 'ws', FEISHU_API_BASE: started.url }),
    (started) => ({ fake, gw } = started),
    () => ({ store: (store = new MemoryStore()) }),
  );
  beforeEach(() => fake.wsConnected());

  it('connects through FEISHU_API_BASE and serves no webhook', async () => {
    expect(gw.deps.readiness.run()).toEqual({ feishu_ws: 'ok' });
    expect(fake.received(/callback\/ws\/endpoint$/)[0].body).toEqual({ AppID: FEISHU_APP_ID, AppSecret: FEISHU_APP_SECRET });
    expect((await fetch(`${gw.url}/api/feishu/callback`, { method: 'POST' })).status).toBe(404);
  });

  it('answers a pushed message once, even when Feishu pushes it twice', async () => {
    const event = messageEvent({ eventId: 'ev-ws-1', text: 'over the long connection' });
    fake.pushEvent(event);
    fake.pushEvent(event);
    await fake.waitUntil(() => fake.wsAcks.length === 2 && fake.delivered.length === 1);
    expect(fake.wsAcks.map((ack) => ack.code)).toEqual([HANDLED, HANDLED]);
    await gw.close();
    expect(fake.replyTexts).toEqual(['echo: over the long connection']);
    expect(gw.chat.turns[0].sessionId).toBe('feishu:oc_p2p_1:ou_user_1');
  });

  it('applies the group mention rule', async () => {
    fake.pushEvent(messageEvent({ group: true, text: 'not for the bot' }));
    fake.pushEvent(messageEvent({ group: true, mentions: [FEISHU_BOT_OPEN_ID], text: 'for the bot' }));
    await fake.waitUntil(() => fake.wsAcks.length === 2);
    await gw.close();
    expect(fake.replyTexts).toEqual(['echo: for the bot']);
  });

  it('fails the push when the message cannot be recorded, so Feishu pushes it again', async () => {
    const setIfAbsent = store.setIfAbsent.bind(store);
    const attempted = deferred();
    store.setIfAbsent = async () => {
      attempted.resolve();
      throw new Error('store down');
    };
    const event = messageEvent({ eventId: 'ev-ws-2' });
    fake.pushEvent(event);
    await attempted.promise;
    await fake.waitUntil(() => fake.wsAcks.length === 1);
    expect(fake.wsAcks[0].code).toBe(FAILED);
    store.setIfAbsent = setIfAbsent;
    fake.pushEvent(event);
    await fake.waitUntil(() => fake.delivered.length === 1);
    expect(fake.wsAcks.map((ack) => ack.code)).toEqual([FAILED, HANDLED]);
  });
});
