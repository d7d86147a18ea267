import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FakeLLM, startFakeOpenAI } from '../helpers/fake-llm';
import { DINGTALK_APP_SECRET, type FakeDingtalk, dingtalkEnv, signRobotCallback, startFakeDingtalk } from '../helpers/fake-dingtalk';
import {
  FEISHU_APP_SECRET,
  FEISHU_BOT_OPEN_ID,
  FEISHU_ENCRYPT_KEY,
  type FakeFeishu,
  encryptFeishu,
  feishuEnv,
  messageEvent,
  signedDelivery,
  startFakeFeishu,
} from '../helpers/fake-feishu';
import { type SpawnedGateway, spawnGateway } from '../helpers/gateway';
import { UNSUPPORTED_REPLY } from '../../app/src/channels/answer';
import { post } from './harness';

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

// Both channels end to end through the built gateway process (what `npm start` runs), with a
// fake OpenAI-compatible model and the fake platforms on loopback.
describe('channels through the gateway process', () => {
  let llm: FakeLLM;
  let dingtalk: FakeDingtalk;
  let feishu: FakeFeishu;
  let gw: SpawnedGateway;
  // Kept across the stop, so the log files can be read afterwards.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-channels-'));

  beforeAll(async () => {
    llm = await startFakeOpenAI({ reply: (request) => `model: ${request.body.messages.at(-1).content}` });
    dingtalk = await startFakeDingtalk();
    feishu = await startFakeFeishu();
    gw = await spawnGateway({
      ...dingtalkEnv(dingtalk),
      ...feishuEnv(feishu),
      MODEL_PROVIDER: 'openai',
      MODEL_API_KEY: 'sk-fake-model-key',
      MODEL_ENDPOINT: llm.url,
      ROUTING: 'llm',
      CLAWDBOT_DATA_DIR: dataDir,
    });
  }, 120_000);

  afterAll(async () => {
    if (gw?.child.exitCode === null) await gw.stop();
    await Promise.all([llm?.close(), dingtalk?.close(), feishu?.close()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function robotCallback(message: unknown) {
    const timestamp = String(Date.now());
    return post(`${gw.url}/api/dingtalk/callback`, message as object, { timestamp, sign: signRobotCallback(timestamp) });
  }

  it('answers a DingTalk robot message once, through the model, with the conversation remembered', async () => {
    const first = dingtalk.robotMessage({ msgId: 'e2e-1', conversationId: 'cid-e2e', text: 'my name is Ada' });
    const responses = await Promise.all([robotCallback(first), robotCallback(first), robotCallback(first)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    await dingtalk.waitFor(/^\/robot\/sendBySession$/);
    await robotCallback(dingtalk.robotMessage({ msgId: 'e2e-2', conversationId: 'cid-e2e', text: 'what is my name?' }));
    const replies = await dingtalk.waitFor(/^\/robot\/sendBySession$/, 2);
    expect(replies.map((r) => r.body.markdown.text)).toEqual(['model: my name is Ada', 'model: what is my name?']);
    // The second model call carries the first exchange: sessions live in the gateway's memory.
    const secondCall = llm.completions().at(-1)!.body.messages.map((m: { content: unknown }) => m.content);
    expect(secondCall).toEqual(expect.arrayContaining(['my name is Ada', 'model: my name is Ada', 'what is my name?']));
    expect(llm.completions()).toHaveLength(2);
  });

  it('answers a Feishu group message that mentions the bot, once', async () => {
    const event = messageEvent({ group: true, mentions: [FEISHU_BOT_OPEN_ID], text: 'hello from Feishu' });
    const delivery = signedDelivery({ encrypt: encryptFeishu(event) });
    const responses = await Promise.all([1, 2].map(() => post(`${gw.url}/api/feishu/callback`, delivery.body, delivery.headers)));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    await feishu.waitUntil(() => feishu.delivered.length === 1);
    expect(feishu.replyTexts).toEqual(['model: hello from Feishu']);
  });

  it('answers url_verification and refuses forged callbacks, counting them on the metrics port', async () => {
    const challenge = await post(`${gw.url}/api/feishu/callback`, { type: 'url_verification', challenge: 'c-1', token: feishuEnv(feishu).FEISHU_VERIFICATION_TOKEN });
    expect(challenge.body).toEqual({ challenge: 'c-1' });
    const forged = await post(`${gw.url}/api/dingtalk/callback`, dingtalk.robotMessage(), { timestamp: String(Date.now()), sign: 'forged' });
    expect(forged.status).toBe(401);
    expect(forged.body.error).toMatchObject({ code: 'bad_signature', type: 'authentication_error' });
    const metrics = await (await fetch(gw.metricsUrl)).text();
    expect(metrics).toContain('clawdbot_channel_refused_total{channel="dingtalk",outcome="bad_signature"} 1');
    expect(metrics).toMatch(/clawdbot_channel_replies_total\{channel="dingtalk",outcome="webhook"\} 2/);
    expect(metrics).toMatch(/clawdbot_channel_ack_duration_seconds_count\{channel="feishu",outcome="accepted"\} 1/);
  });

  it('logs a notice the gateway sends without a model to conversations/, like any answer', async () => {
    await robotCallback(dingtalk.robotMessage({ msgId: 'e2e-voice', conversationId: 'cid-voice', msgtype: 'audio', content: { downloadCode: 'v-1' } }));
    const [sent] = (await dingtalk.waitFor(/^\/robot\/sendBySession$/, 3)).slice(-1);
    expect(sent.body.markdown.text).toBe(UNSUPPORTED_REPLY);
    const dir = path.join(dataDir, 'conversations');
    await waitUntil(() => fs.readdirSync(dir).some((file) => fs.readFileSync(path.join(dir, file), 'utf8').includes('cid-voice')));
    const lines = fs.readdirSync(dir).flatMap((file) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n')).map((line) => JSON.parse(line));
    expect(lines.find((line) => line.sessionId === 'dingtalk:cid-voice:staff-1')).toMatchObject({
      channel: 'dingtalk',
      source: 'gateway',
      user: '[audio]',
      reply: UNSUPPORTED_REPLY,
    });
  });

  it('warns at start that unanswered messages do not survive a restart on the in-memory store', () => {
    expect(gw.output()).toMatch(/"level":40,[^\n]*in-memory store[^\n]*Set REDIS_URL/);
  });

  it('stops on SIGTERM, and no log holds a platform secret or token', async () => {
    expect(await gw.stop()).toBe(0);
    const logsDir = path.join(dataDir, 'logs');
    const logs = fs.readdirSync(logsDir).map((file) => fs.readFileSync(path.join(logsDir, file), 'utf8')).join('\n') + gw.output();
    expect(logs).toContain('channel message answered');
    for (const secret of [DINGTALK_APP_SECRET, FEISHU_APP_SECRET, FEISHU_ENCRYPT_KEY, feishuEnv(feishu).FEISHU_VERIFICATION_TOKEN, 'sk-fake-model-key']) {
      expect(logs).not.toContain(secret);
    }
  });
});
