import { NO_VISION_REPLY, tooLongReply } from '../../app/src/channels/answer';
import { FeishuApi, replyUuid } from '../../app/src/channels/feishu/api';
import { waitForSlot } from '../../app/src/channels/limits';
import { loadSettings } from '../../app/src/lib/config';
import { MemoryStore } from '../../app/src/store/memory';
import {
  FEISHU_APP_SECRET,
  FEISHU_BOT_OPEN_ID,
  FEISHU_ENCRYPT_KEY,
  FEISHU_VERIFICATION_TOKEN,
  type FakeFeishu,
  encryptFeishu,
  feishuEnv,
  messageEvent,
  signedDelivery,
  startFakeFeishu,
} from '../helpers/fake-feishu';
import { PNG_PIXEL } from './fake-platform';
import { type ChannelsApp, captureLogs, channelsAppPerTest, deferred, post, startChannelsApp } from './harness';

const CALLBACK = '/api/feishu/callback';

function deliver(gw: ChannelsApp, body: unknown, options: Parameters<typeof signedDelivery>[1] = {}) {
  const delivery = signedDelivery(body, options);
  return post(`${gw.url}${CALLBACK}`, delivery.body, delivery.headers);
}

/** An event as Feishu sends it with an encrypt key set: encrypted, then signed. */
function deliverEncrypted(gw: ChannelsApp, event: unknown) {
  return deliver(gw, { encrypt: encryptFeishu(event) });
}

describe('Feishu webhook', () => {
  let fake: FakeFeishu;
  let gw: ChannelsApp;
  /** What the gateway asked Feishu since start-up (which looks the bot's identity up). */
  let outbound: () => unknown[];

  channelsAppPerTest(startFakeFeishu, feishuEnv, (started) => ({ fake, gw } = started));
  beforeEach(async () => {
    await fake.waitFor(/bot\/v3\/info$/);
    const atStart = fake.requests.length;
    outbound = () => fake.requests.slice(atStart);
  });

  describe('url_verification', () => {
    const challenge = { challenge: 'ajls384kdjx98XX', token: FEISHU_VERIFICATION_TOKEN, type: 'url_verification' };

    it('answers the challenge, plain or encrypted, signed or not', async () => {
      expect((await post(`${gw.url}${CALLBACK}`, challenge)).body).toEqual({ challenge: 'ajls384kdjx98XX' });
      expect((await post(`${gw.url}${CALLBACK}`, { encrypt: encryptFeishu(challenge) })).body).toEqual({ challenge: 'ajls384kdjx98XX' });
      const signed = await deliverEncrypted(gw, challenge);
      expect(signed).toEqual({ status: 200, body: { challenge: 'ajls384kdjx98XX' } });
      expect(outbound()).toHaveLength(0);
    });

    it('refuses a challenge with the wrong verification token', async () => {
      const response = await post(`${gw.url}${CALLBACK}`, { ...challenge, token: 'guess' });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('wrong_token');
      expect(response.body.challenge).toBeUndefined();
    });
  });

  it('acknowledges before the model answers, then replies to the message with a tenant token', async () => {
    const model = deferred();
    gw.chat.gate = model.promise;
    const event = messageEvent({ messageId: 'om_first', text: 'hello bot' });
    const response = await deliverEncrypted(gw, event);
    expect(response.status).toBe(200);
    expect(outbound()).toHaveLength(0); // acknowledged while the model is still thinking

    model.resolve();
    await fake.waitUntil(() => fake.delivered.length === 1);
    const [reply] = fake.delivered;
    expect(reply.path).toBe('/open-apis/im/v1/messages/om_first/reply');
    expect(reply.headers.authorization).toBe('Bearer t-1');
    // The uuid is Feishu's idempotency key: the same for every attempt at this part of this reply.
    expect(reply.body).toEqual({ msg_type: 'text', content: JSON.stringify({ text: 'echo: hello bot' }), uuid: replyUuid('om_first', 0) });
    expect(replyUuid('om_first', 0)).toMatch(/^[0-9a-f]{32}$/);
    expect(replyUuid('om_first', 1)).not.toBe(replyUuid('om_first', 0));
    expect(fake.tokenRequests[0].body).toEqual({ app_id: 'cli_0123456789abcdef', app_secret: FEISHU_APP_SECRET });
    expect(gw.chat.turns[0]).toMatchObject({ sessionId: 'feishu:oc_p2p_1:ou_user_1', channel: 'feishu', message: 'hello bot' });
  });

  it('verifies the signature over the bytes as sent, whatever their formatting', async () => {
    const event = messageEvent({ text: 'spaced out' });
    const raw = JSON.stringify({ encrypt: encryptFeishu(event) }, null, 3);
    const response = await deliver(gw, raw);
    expect(response.status).toBe(200);
    await fake.waitUntil(() => fake.delivered.length === 1);
  });

  it('sends exactly one reply for concurrent duplicate deliveries and later retries', async () => {
    const event = messageEvent({ eventId: 'ev-dup' });
    const responses = await Promise.all(Array.from({ length: 5 }, () => deliverEncrypted(gw, event)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await fake.waitUntil(() => fake.delivered.length === 1);
    expect((await deliverEncrypted(gw, event)).status).toBe(200);
    await gw.close();
    expect(fake.delivered).toHaveLength(1);
    expect(gw.chat.turns).toHaveLength(1);
    expect(await gw.metric('clawdbot_channel_events_total', { channel: 'feishu', outcome: 'duplicate' })).toBe(5);
  });

  describe('refuses, counts, and neither answers nor calls out', () => {
    const twoHoursAgo = Math.floor(Date.now() / 1000) - 2 * 60 * 60;
    it.each([
      ['a wrong signature', () => deliver(gw, { encrypt: encryptFeishu(messageEvent()) }, { signature: 'a'.repeat(64) }), 401, 'bad_signature'],
      ['a signature made with another key', () => deliver(gw, { encrypt: encryptFeishu(messageEvent()) }, { encryptKey: 'other' }), 401, 'bad_signature'],
      ['a stale timestamp', () => deliver(gw, { encrypt: encryptFeishu(messageEvent()) }, { timestamp: twoHoursAgo }), 401, 'stale_timestamp'],
      ['an unsigned event', () => post(`${gw.url}${CALLBACK}`, { encrypt: encryptFeishu(messageEvent()) }), 401, 'bad_signature'],
      ['a wrong verification token', () => deliverEncrypted(gw, messageEvent({ token: 'guess' })), 401, 'wrong_token'],
      ['a body encrypted with another key', () => deliver(gw, { encrypt: encryptFeishu(messageEvent(), 'other key') }), 400, 'bad_encryption'],
      ['a version 1 event', () => deliverEncrypted(gw, { uuid: 'u', token: FEISHU_VERIFICATION_TOKEN, event: { type: 'message' } }), 400, 'unknown_shape'],
      ['a body that is not JSON', () => post(`${gw.url}${CALLBACK}`, '{"encrypt":'), 400, 'unknown_shape'],
      ['a message event without a message', () => deliverEncrypted(gw, { ...messageEvent(), event: { sender: {} } }), 400, 'unknown_shape'],
    ])('%s', async (_name, send, status, code) => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      await gw.close();
      expect(outbound()).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
      expect(await gw.metric('clawdbot_channel_refused_total', { channel: 'feishu', outcome: code })).toBe(1);
    });
  });

  describe('group mention rules', () => {
    it('ignores a group message that mentions nobody, without any outbound call', async () => {
      expect((await deliverEncrypted(gw, messageEvent({ group: true, text: 'chatter' }))).status).toBe(200);
      await gw.close();
      expect(outbound()).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
      expect(await gw.metric('clawdbot_channel_events_total', { channel: 'feishu', outcome: 'ignored' })).toBe(1);
    });

    it('ignores a group message that mentions someone else', async () => {
      await deliverEncrypted(gw, messageEvent({ group: true, mentions: ['ou_someone_else'], text: 'for you' }));
      await gw.close();
      expect(fake.received(/bot\/v3\/info$/)).toHaveLength(1);
      expect(fake.delivered).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
    });

    it('answers a group message that mentions the bot, without the mention in the question', async () => {
      await deliverEncrypted(gw, messageEvent({ group: true, mentions: ['ou_someone_else', FEISHU_BOT_OPEN_ID], text: 'what time is it?' }));
      await deliverEncrypted(gw, messageEvent({ group: true, mentions: [FEISHU_BOT_OPEN_ID], text: 'and now?' }));
      await gw.close();
      expect(fake.replyTexts).toEqual(['echo: what time is it?', 'echo: and now?']);
      expect(gw.chat.turns[0].sessionId).toBe('feishu:oc_group_1:ou_user_1');
      expect(fake.received(/bot\/v3\/info$/)).toHaveLength(1); // the bot's identity is fetched once
    });

    it('answers every one-to-one message, and never another bot', async () => {
      await deliverEncrypted(gw, messageEvent({ text: 'no mention needed' }));
      await deliverEncrypted(gw, messageEvent({ text: 'from a bot', senderType: 'app' }));
      await gw.close();
      expect(fake.replyTexts).toEqual(['echo: no mention needed']);
    });
  });

  it('reads the text of a rich-text post', async () => {
    const content = { title: 'Question', content: [[{ tag: 'at', user_id: '@_user_1' }, { tag: 'text', text: ' how do I ' }, { tag: 'a', text: 'deploy', href: 'https://x' }]] };
    await deliverEncrypted(gw, messageEvent({ messageType: 'post', content }));
    await gw.close();
    expect(gw.chat.turns[0].message).toBe('Question\nhow do I deploy');
  });

  it('uses the cached token, and drops it when Feishu answers 99991663', async () => {
    await deliverEncrypted(gw, messageEvent({ text: 'one' }));
    await fake.waitUntil(() => fake.delivered.length === 1);
    await deliverEncrypted(gw, messageEvent({ text: 'two' }));
    await fake.waitUntil(() => fake.delivered.length === 2);
    expect(fake.tokenRequests).toHaveLength(1);

    fake.revokeTokens();
    await deliverEncrypted(gw, messageEvent({ text: 'three' }));
    await fake.waitUntil(() => fake.delivered.length === 3);
    expect(fake.tokenRequests).toHaveLength(2);
    expect(fake.delivered.map((reply) => reply.headers.authorization)).toEqual(['Bearer t-1', 'Bearer t-1', 'Bearer t-2']);
    expect(fake.replyTexts).toEqual(['echo: one', 'echo: two', 'echo: three']);
  });

  it('retries rate-limited replies (HTTP 429, code 230020, code 99991400) with backoff, then replies once', async () => {
    const reply = /\/reply$/;
    fake.failNext(reply, { status: 429, body: { code: 99991400, msg: 'request trigger frequency limit' } });
    fake.failNext(reply, { status: 400, body: { code: 230020, msg: 'This operation triggers the frequency limit.' } });
    await deliverEncrypted(gw, messageEvent());
    await gw.close();
    expect(fake.received(reply)).toHaveLength(3);
    expect(fake.delivered).toHaveLength(1);
  });

  it('tells the user a message over MAX_MESSAGE_CHARS is too long, and the limit, without asking the model', async () => {
    await deliverEncrypted(gw, messageEvent({ text: 'x'.repeat(16_001) }));
    await gw.close();
    expect(fake.replyTexts).toEqual([tooLongReply(16_001, 16_000)]);
    expect(fake.replyTexts[0]).toMatch(/too long \(16001 characters\); I can read at most 16000/);
    expect(gw.chat.turns).toEqual([]);
    expect(gw.chat.notices.map((notice) => notice.turn.message)).toEqual(['[16001 characters, over MAX_MESSAGE_CHARS]']);
  });

  it('tells the user plainly when the current model cannot read a picture', async () => {
    await deliverEncrypted(gw, messageEvent({ messageType: 'image', content: { image_key: 'img_v3_1' } }));
    await gw.close();
    expect(fake.replyTexts).toEqual([NO_VISION_REPLY]);
    expect(fake.received(/resources/)).toHaveLength(0);
    expect(gw.chat.notices.map((notice) => notice.reply)).toEqual([NO_VISION_REPLY]);
  });

  it('never logs the app secret, the encrypt key or tokens', async () => {
    fake.failNext(/tenant_access_token/, { status: 500, body: { code: 1, msg: 'busy' } });
    await deliverEncrypted(gw, messageEvent());
    await deliverEncrypted(gw, messageEvent({ token: 'guess' }));
    await gw.close();
    const logged = gw.captured.text();
    for (const secret of [FEISHU_APP_SECRET, FEISHU_ENCRYPT_KEY, FEISHU_VERIFICATION_TOKEN, 't-1']) expect(logged).not.toContain(secret);
    expect(gw.captured.lines.some((line) => line.stream === 'audit' && line.msg === 'channel message answered')).toBe(true);
  });
});

describe('Feishu pictures with a vision model', () => {
  it('downloads the picture from the message resources and passes it to the model', async () => {
    const fake = await startFakeFeishu();
    const gw = await startChannelsApp(feishuEnv(fake), { supportsVision: true });
    try {
      await deliverEncrypted(gw, messageEvent({ messageId: 'om_pic', messageType: 'image', content: { image_key: 'img_v3_9' } }));
      await gw.close();
      const [download] = fake.received(/resources/);
      expect(download.path).toBe('/open-apis/im/v1/messages/om_pic/resources/img_v3_9');
      expect(download.query.get('type')).toBe('image');
      expect(gw.chat.turns[0].message).toEqual([{ type: 'image', url: `data:image/png;base64,${PNG_PIXEL.toString('base64')}` }]);
      expect(fake.replyTexts).toHaveLength(1);
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});

describe('Feishu without an encrypt key', () => {
  it('takes plain events, checking only the verification token', async () => {
    const fake = await startFakeFeishu();
    const { FEISHU_ENCRYPT_KEY: _unused, ...env } = feishuEnv(fake);
    const gw = await startChannelsApp(env);
    try {
      expect((await post(`${gw.url}${CALLBACK}`, messageEvent({ token: 'guess' }))).status).toBe(401);
      expect((await post(`${gw.url}${CALLBACK}`, messageEvent({ text: 'plain' }))).status).toBe(200);
      expect((await post(`${gw.url}${CALLBACK}`, { encrypt: encryptFeishu(messageEvent()) })).body.error.code).toBe('bad_encryption');
      await gw.close();
      expect(fake.replyTexts).toEqual(['echo: plain']);
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});

describe("Feishu acknowledgements never wait for the bot's identity", () => {
  it('acks group messages while the identity lookup hangs, and decides in the background who they are for', async () => {
    const fake = await startFakeFeishu();
    const release = fake.hold(/bot\/v3\/info$/);
    const gw = await startChannelsApp(feishuEnv(fake));
    try {
      await fake.waitFor(/bot\/v3\/info$/); // the lookup at start, now hanging
      const forBot = await deliverEncrypted(gw, messageEvent({ group: true, mentions: [FEISHU_BOT_OPEN_ID], text: 'are you there?' }));
      const forOther = await deliverEncrypted(gw, messageEvent({ group: true, mentions: ['ou_someone_else'], text: 'not for the bot' }));
      expect([forBot.status, forOther.status]).toEqual([200, 200]);
      expect(fake.delivered).toHaveLength(0);

      release();
      await fake.waitUntil(() => fake.delivered.length === 1);
      await gw.close();
      expect(fake.replyTexts).toEqual(['echo: are you there?']);
      expect(gw.chat.turns.map((turn) => turn.message)).toEqual(['are you there?']);
      expect(gw.captured.lines.filter((line) => line.msg === 'channel message not for the bot')).toHaveLength(1);
    } finally {
      release();
      await gw.close();
      await fake.close();
    }
  });
});

describe('FeishuApi tenant_access_token', () => {
  it('refreshes the token three minutes before Feishu says it expires', async () => {
    const fake = await startFakeFeishu();
    let offset = 0;
    const settings = loadSettings(feishuEnv(fake), '/tmp').channels.feishu!;
    const api = new FeishuApi(settings, captureLogs().logs.error, () => Date.now() + offset);
    try {
      await api.reply('om_1', 'a', 'uuid-1');
      offset = (7200 - 200) * 1000; // 200 s before expiry: cached
      await api.reply('om_2', 'b', 'uuid-2');
      offset = (7200 - 170) * 1000; // 170 s before expiry: refreshed
      await api.reply('om_3', 'c', 'uuid-3');
      expect(fake.delivered.map((reply) => reply.headers.authorization)).toEqual(['Bearer t-1', 'Bearer t-1', 'Bearer t-2']);
    } finally {
      await fake.close();
    }
  });
});

describe('platform rate limits', () => {
  it('holds the sixth message in a second for one chat, while another chat goes ahead', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 5; i++) await waitForSlot(store, 'feishu:chat:a', 5, 1000);
    let sixthSent = false;
    const sixth = waitForSlot(store, 'feishu:chat:a', 5, 1000).then(() => (sixthSent = true));
    await waitForSlot(store, 'feishu:chat:b', 5, 1000);
    expect(sixthSent).toBe(false);
    await sixth;
    expect(sixthSent).toBe(true);
    await store.close();
  });
});
