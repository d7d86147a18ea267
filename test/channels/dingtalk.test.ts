import crypto from 'node:crypto';
import { NO_VISION_REPLY, UNSUPPORTED_REPLY, tooLongReply } from '../../app/src/channels/answer';
import { DingtalkApi } from '../../app/src/channels/dingtalk/api';
import { loadSettings } from '../../app/src/lib/config';
import { MemoryStore } from '../../app/src/store/memory';
import {
  DINGTALK_AES_KEY,
  DINGTALK_APP_KEY,
  DINGTALK_APP_SECRET,
  DINGTALK_TOKEN,
  type FakeDingtalk,
  dingtalkEnv,
  signRobotCallback,
  startFakeDingtalk,
} from '../helpers/fake-dingtalk';
import { PNG_PIXEL } from './fake-platform';
import { type ChannelsApp, channelsAppPerTest, deferred, post, startChannelsApp } from './harness';

const CALLBACK = '/api/dingtalk/callback';

async function robotCallback(gw: ChannelsApp, message: unknown, headers: { timestamp?: string; sign?: string } = {}) {
  const timestamp = headers.timestamp ?? String(Date.now());
  return post(`${gw.url}${CALLBACK}`, typeof message === 'string' ? message : JSON.stringify(message), {
    timestamp,
    sign: headers.sign ?? signRobotCallback(timestamp),
  });
}

// The event subscription's crypto, written again here from the documentation (not the app's code).
const eventKey = Buffer.from(`${DINGTALK_AES_KEY}=`, 'base64');
function encryptEvent(message: string): string {
  const body = Buffer.from(message);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  let plain = Buffer.concat([crypto.randomBytes(16), length, body, Buffer.from(DINGTALK_APP_KEY)]);
  const pad = 32 - (plain.length % 32);
  plain = Buffer.concat([plain, Buffer.alloc(pad, pad)]);
  const cipher = crypto.createCipheriv('aes-256-cbc', eventKey, eventKey.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}
function decryptEvent(encrypt: string): string {
  const decipher = crypto.createDecipheriv('aes-256-cbc', eventKey, eventKey.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()]);
  const length = plain.readUInt32BE(16);
  return plain.subarray(20, 20 + length).toString();
}
function eventSignature(timestamp: string, nonce: string, encrypt: string): string {
  return crypto.createHash('sha1').update([DINGTALK_TOKEN, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

describe('DingTalk robot callback', () => {
  let fake: FakeDingtalk;
  let gw: ChannelsApp;

  channelsAppPerTest(startFakeDingtalk, dingtalkEnv, (started) => ({ fake, gw } = started));

  it('acknowledges before the model answers, then replies through the session webhook', async () => {
    const model = deferred();
    gw.chat.gate = model.promise;
    const response = await robotCallback(gw, fake.robotMessage({ text: 'what is up' }));
    expect(response.status).toBe(200);
    expect(fake.requests).toHaveLength(0); // acknowledged while the model is still thinking

    model.resolve();
    const [sent] = await fake.waitFor(/^\/robot\/sendBySession$/);
    expect(sent.query.get('session')).toBe('fake-session');
    expect(sent.body).toMatchObject({ msgtype: 'markdown', markdown: { text: 'echo: what is up' }, at: { atUserIds: [] } });
    expect(gw.chat.turns[0]).toMatchObject({ sessionId: 'dingtalk:cid-single-1:staff-1', channel: 'dingtalk', message: 'what is up' });
    expect(await gw.metric('clawdbot_channel_events_total', { channel: 'dingtalk', outcome: 'accepted' })).toBe(1);
    const ack = await gw.deps.registry.getSingleMetric('clawdbot_channel_ack_duration_seconds')?.get();
    const ackCount = ack?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count') && v.labels.outcome === 'accepted');
    expect(ackCount?.value).toBe(1);
  });

  it('sends exactly one reply for concurrent duplicate deliveries and later retries', async () => {
    const message = fake.robotMessage({ msgId: 'msg-dup', text: 'once please' });
    const responses = await Promise.all(Array.from({ length: 5 }, () => robotCallback(gw, message)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await fake.waitFor(/^\/robot\/sendBySession$/);
    expect((await robotCallback(gw, message)).status).toBe(200);
    await gw.close(); // drains background work
    expect(fake.sent).toHaveLength(1);
    expect(gw.chat.turns).toHaveLength(1);
    expect(await gw.metric('clawdbot_channel_events_total', { channel: 'dingtalk', outcome: 'duplicate' })).toBe(5);
  });

  it('mentions the sender in a group and uses the group conversation for the session', async () => {
    await robotCallback(gw, fake.robotMessage({ group: true, text: 'hi all', senderStaffId: 'staff-9' }));
    const [sent] = await fake.waitFor(/^\/robot\/sendBySession$/);
    expect(sent.body.at).toEqual({ atUserIds: ['staff-9'], isAtAll: false });
    expect(gw.chat.turns[0].sessionId).toBe('dingtalk:cid-group-1:staff-9');
  });

  describe('refuses, counts, and neither answers nor calls out', () => {
    const tenMinutes = 10 * 60 * 1000;
    const twoHours = 2 * 60 * 60 * 1000;
    it.each<[string, { timestamp?: string; sign?: string }, number, string]>([
      ['a wrong sign', { sign: 'bm90IHRoZSBzaWdu' }, 401, 'bad_signature'],
      ['a sign made with another secret', { sign: signRobotCallback('1', 'other-secret') }, 401, 'bad_signature'],
      ['a stale timestamp', { timestamp: String(Date.now() - twoHours) }, 401, 'stale_timestamp'],
      ['a timestamp from the future', { timestamp: String(Date.now() + twoHours) }, 401, 'stale_timestamp'],
    ])('%s', async (_name, headers, status, code) => {
      const timestamp = headers.timestamp ?? String(Date.now() - tenMinutes);
      const sign = headers.sign ?? signRobotCallback(timestamp);
      const response = await robotCallback(gw, fake.robotMessage(), { timestamp, sign });
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      await gw.close();
      expect(fake.requests).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
      expect(await gw.metric('clawdbot_channel_refused_total', { channel: 'dingtalk', outcome: code })).toBe(1);
    });

    it.each([
      ['a session webhook on another origin', { sessionWebhook: 'https://evil.example.com/robot/sendBySession?session=x' }],
      ['a session webhook on another port of the same host', { sessionWebhook: 'http://127.0.0.1:1/robot/sendBySession?session=x' }],
      ['a session webhook that is not a URL', { sessionWebhook: 'not a url' }],
    ])('%s', async (_name, options) => {
      const response = await robotCallback(gw, fake.robotMessage(options));
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('foreign_webhook');
      await gw.close();
      expect(fake.requests).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
      expect(await gw.metric('clawdbot_channel_refused_total', { channel: 'dingtalk', outcome: 'foreign_webhook' })).toBe(1);
    });

    it.each([
      ['no signature headers', () => post(`${gw.url}${CALLBACK}`, fake.robotMessage()), 400, 'unknown_shape'],
      ['a sign without a timestamp', () => post(`${gw.url}${CALLBACK}`, fake.robotMessage(), { sign: 'x' }), 401, 'bad_signature'],
      ['a signed body that is not JSON', () => robotCallback(gw, '{not json'), 400, 'unknown_shape'],
      ['a signed body that is not a robot message', () => robotCallback(gw, { hello: 'world' }), 400, 'unknown_shape'],
    ])('%s', async (_name, send, status, code) => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      await gw.close();
      expect(fake.requests).toHaveLength(0);
      expect(gw.chat.turns).toHaveLength(0);
    });
  });

  it('falls back to the OpenAPI once the session webhook has expired, reusing the cached token', async () => {
    const expired = Date.now() - 1000;
    await robotCallback(gw, fake.robotMessage({ text: 'one', sessionWebhookExpiredTime: expired }));
    await robotCallback(gw, fake.robotMessage({ text: 'two', group: true, sessionWebhookExpiredTime: expired }));
    await fake.waitUntil(() => fake.sent.length === 2);
    const [single] = fake.received(/batchSend$/);
    expect(single.headers['x-acs-dingtalk-access-token']).toBe('dt-token-1');
    expect(single.body).toMatchObject({ robotCode: DINGTALK_APP_KEY, userIds: ['staff-1'], msgKey: 'sampleMarkdown' });
    expect(JSON.parse(single.body.msgParam)).toEqual({ title: 'echo: one', text: 'echo: one' });
    const [group] = fake.received(/groupMessages\/send$/);
    expect(group.body).toMatchObject({ robotCode: DINGTALK_APP_KEY, openConversationId: 'cid-group-1', msgKey: 'sampleMarkdown' });
    expect(fake.received(/oauth2\/accessToken$/)).toHaveLength(1);
    expect(fake.received(/sendBySession/)).toHaveLength(0);
    await gw.close();
    expect(await gw.metric('clawdbot_channel_replies_total', { channel: 'dingtalk', outcome: 'openapi' })).toBe(2);
  });

  it('splits a long answer into markdown messages under 3,500 characters, in order', async () => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum '.repeat(60).trim()}`);
    gw.chat.answer = () => paragraphs.join('\n\n');
    await robotCallback(gw, fake.robotMessage({ group: true }));
    await gw.close();
    const texts = fake.sent.map((request) => request.body.markdown.text as string);
    expect(texts.length).toBeGreaterThan(2);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(3500);
    expect(texts.join('\n\n')).toBe(paragraphs.join('\n\n'));
    expect(fake.sent.map((request) => request.body.at.atUserIds.length)).toEqual([1, ...texts.slice(1).map(() => 0)]);
  });

  it('retries a webhook that answers 429 or "send too fast", and still replies once', async () => {
    fake.failNext(/^\/robot\/sendBySession$/, { status: 429, headers: { 'retry-after': '0' } });
    fake.failNext(/^\/robot\/sendBySession$/, { body: { errcode: 130101, errmsg: 'send too fast' } });
    await robotCallback(gw, fake.robotMessage());
    await gw.close();
    expect(fake.received(/^\/robot\/sendBySession$/)).toHaveLength(3);
    expect(await gw.metric('clawdbot_channel_replies_total', { channel: 'dingtalk', outcome: 'webhook' })).toBe(1);
  });

  it('tells the user plainly when the current model cannot read pictures', async () => {
    await robotCallback(gw, fake.robotMessage({ msgtype: 'picture', content: { downloadCode: 'code-1' } }));
    const [sent] = await fake.waitFor(/^\/robot\/sendBySession$/);
    expect(sent.body.markdown.text).toBe(NO_VISION_REPLY);
    expect(gw.chat.turns).toHaveLength(0);
    expect(fake.received(/messageFiles/)).toHaveLength(0);
    expect(gw.chat.notices).toEqual([
      { turn: { sessionId: 'dingtalk:cid-single-1:staff-1', channel: 'dingtalk', message: '[image]' }, reply: NO_VISION_REPLY },
    ]);
  });

  it('tells the user a message over MAX_MESSAGE_CHARS is too long, and the limit, without asking the model', async () => {
    await robotCallback(gw, fake.robotMessage({ text: 'x'.repeat(16_001) }));
    const [sent] = await fake.waitFor(/^\/robot\/sendBySession$/);
    expect(sent.body.markdown.text).toBe(tooLongReply(16_001, 16_000));
    expect(gw.chat.turns).toHaveLength(0);
    expect(gw.chat.notices.map((notice) => notice.turn.message)).toEqual(['[16001 characters, over MAX_MESSAGE_CHARS]']);
  });

  it('answers a message type it cannot read with a notice, logged like any other answer', async () => {
    await robotCallback(gw, fake.robotMessage({ msgtype: 'audio', content: { duration: '4000', downloadCode: 'voice-1' } }));
    const [sent] = await fake.waitFor(/^\/robot\/sendBySession$/);
    expect(sent.body.markdown.text).toBe(UNSUPPORTED_REPLY);
    expect(gw.chat.turns).toHaveLength(0);
    expect(gw.chat.notices).toEqual([
      { turn: { sessionId: 'dingtalk:cid-single-1:staff-1', channel: 'dingtalk', message: '[audio]' }, reply: UNSUPPORTED_REPLY },
    ]);
  });

  it('audits what happened and never logs the app secret or tokens', async () => {
    await robotCallback(gw, fake.robotMessage({ sessionWebhookExpiredTime: Date.now() - 1 }));
    await robotCallback(gw, fake.robotMessage(), { sign: 'wrong' });
    await gw.close();
    const audit = gw.captured.lines.filter((line) => line.stream === 'audit').map((line) => line.msg);
    expect(audit).toEqual(expect.arrayContaining(['channel message received', 'channel message answered', 'channel callback refused']));
    const logged = gw.captured.text();
    for (const secret of [DINGTALK_APP_SECRET, 'dt-token-1', DINGTALK_AES_KEY, DINGTALK_TOKEN]) expect(logged).not.toContain(secret);
  });
});

describe('DingTalk pictures with a vision model', () => {
  it('downloads the picture by its downloadCode and passes it to the model', async () => {
    const fake = await startFakeDingtalk();
    const gw = await startChannelsApp(dingtalkEnv(fake), { supportsVision: true });
    try {
      await robotCallback(
        gw,
        fake.robotMessage({ msgtype: 'richText', content: { richText: [{ text: 'what is this?' }, { type: 'picture', downloadCode: 'code-7' }] } }),
      );
      await fake.waitFor(/^\/robot\/sendBySession$/);
      expect(fake.received(/messageFiles\/download$/)[0].body).toEqual({ downloadCode: 'code-7', robotCode: DINGTALK_APP_KEY });
      expect(gw.chat.turns[0].message).toEqual([
        { type: 'text', text: 'what is this?' },
        { type: 'image', url: `data:image/png;base64,${PNG_PIXEL.toString('base64')}` },
      ]);
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});

describe('DingTalk encrypted event subscription', () => {
  let fake: FakeDingtalk;
  let gw: ChannelsApp;

  channelsAppPerTest(startFakeDingtalk, dingtalkEnv, (started) => ({ fake, gw } = started));

  function eventUrl(encrypt: string, signature?: string): string {
    const timestamp = String(Date.now());
    const nonce = 'n0nce';
    const query = new URLSearchParams({ msg_signature: signature ?? eventSignature(timestamp, nonce, encrypt), timestamp, nonce });
    return `${gw.url}${CALLBACK}?${query}`;
  }

  it('answers check_url and every event with an encrypted, signed "success"', async () => {
    for (const event of [{ EventType: 'check_url' }, { EventType: 'user_add_org', UserId: ['u1'] }]) {
      const encrypt = encryptEvent(JSON.stringify(event));
      const response = await post(eventUrl(encrypt), { encrypt });
      expect(response.status).toBe(200);
      const { msg_signature, timeStamp, nonce, encrypt: answer } = response.body;
      expect(msg_signature).toBe(eventSignature(timeStamp, nonce, answer));
      expect(decryptEvent(answer)).toBe('success');
    }
    expect(await gw.metric('clawdbot_channel_events_total', { channel: 'dingtalk', outcome: 'event' })).toBe(2);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a wrong msg_signature and an undecryptable body', async () => {
    const encrypt = encryptEvent('{"EventType":"check_url"}');
    const forged = await post(eventUrl(encrypt, 'f'.repeat(40)), { encrypt });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('bad_signature');
    const garbage = Buffer.alloc(64, 7).toString('base64');
    const undecryptable = await post(eventUrl(garbage), { encrypt: garbage });
    expect(undecryptable.status).toBe(400);
    expect(undecryptable.body.error.code).toBe('bad_encryption');
    expect(await gw.metric('clawdbot_channel_refused_total', { channel: 'dingtalk', outcome: 'bad_signature' })).toBe(1);
  });

  it('says the subscription is not configured without DINGTALK_AES_KEY and DINGTALK_TOKEN', async () => {
    const plain = await startChannelsApp({ DINGTALK_APP_KEY, DINGTALK_APP_SECRET, DINGTALK_OAPI_BASE: fake.url, DINGTALK_API_BASE: fake.url });
    try {
      const encrypt = encryptEvent('{"EventType":"check_url"}');
      const response = await post(`${plain.url}${CALLBACK}?msg_signature=x&timestamp=1&nonce=n`, { encrypt });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not_configured');
    } finally {
      await plain.close();
    }
  });
});

describe('DingTalk door when the store is down', () => {
  it('answers 503 so DingTalk delivers again, and answers the redelivery once', async () => {
    const fake = await startFakeDingtalk();
    const store = new MemoryStore();
    const setIfAbsent = store.setIfAbsent.bind(store);
    store.setIfAbsent = async () => {
      throw new Error('connection refused');
    };
    const gw = await startChannelsApp(dingtalkEnv(fake), { store });
    try {
      const message = fake.robotMessage({ msgId: 'msg-store' });
      const refused = await robotCallback(gw, message);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('store_unavailable');
      store.setIfAbsent = setIfAbsent;
      expect((await robotCallback(gw, message)).status).toBe(200);
      await gw.close();
      expect(fake.sent).toHaveLength(1);
    } finally {
      await gw.close();
      await fake.close();
    }
  });
});

describe('DingtalkApi access token', () => {
  it('caches the token, refreshes it before it expires, and drops one the OpenAPI refuses', async () => {
    const fake = await startFakeDingtalk();
    let now = Date.now();
    const settings = loadSettings(dingtalkEnv(fake), '/tmp').channels.dingtalk!;
    const api = new DingtalkApi(settings, () => now);
    try {
      expect(await api.accessToken()).toBe('dt-token-1');
      expect(await api.accessToken()).toBe('dt-token-1');
      now += (7200 - 6 * 60) * 1000; // six minutes before expiry: still good
      expect(await api.accessToken()).toBe('dt-token-1');
      now += 2 * 60 * 1000; // four minutes before expiry: refreshed
      expect(await api.accessToken()).toBe('dt-token-2');

      fake.failNext(/groupMessages\/send$/, { status: 401, body: { code: 'InvalidAuthentication', message: 'expired' } });
      await api.sendToGroup('cid', { title: 't', text: 't' });
      const sends = fake.received(/groupMessages\/send$/);
      expect(sends.map((s) => s.headers['x-acs-dingtalk-access-token'])).toEqual(['dt-token-2', 'dt-token-3']);
      expect(await Promise.all([api.accessToken(), api.accessToken()])).toEqual(['dt-token-3', 'dt-token-3']);
      expect(fake.received(/oauth2\/accessToken$/)).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });
});
