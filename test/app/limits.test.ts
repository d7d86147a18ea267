import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { ConversationLog, type ExchangeRecord } from '../../app/src/chat/conversation-log';
import { ConfigError, loadSettings } from '../../app/src/lib/config';
import { DATA_LAYOUT, LOG_FILES } from '../../app/src/contract';
import { startGatewayWithFakeModel } from '../helpers/gateway';
import { postJson } from '../helpers/http';

type Gateway = Awaited<ReturnType<typeof startGatewayWithFakeModel>>;

const chat = (gw: Gateway, body: unknown) => postJson(`${gw.url}/api/chat`, body, gw.apiKey);
const complete = (gw: Gateway, body: unknown) => postJson(`${gw.url}/v1/chat/completions`, body, gw.apiKey);
const textLength = (messages: Array<{ content: string }>) => messages.reduce((sum, m) => sum + m.content.length, 0);

describe('message and history limits', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGatewayWithFakeModel({ MAX_MESSAGE_CHARS: '100', MAX_HISTORY_CHARS: '250', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(() => gw.close());

  it('refuses an over-size /api/chat message with a 400 naming the field, plain or streamed, before any model call', async () => {
    const calls = gw.fake.completions().length;
    for (const stream of [false, true]) {
      const response = await chat(gw, { message: 'x'.repeat(101), stream });
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ param: 'message', code: 'message_too_long', message: expect.stringContaining('at most 100') });
    }
    expect(gw.fake.completions()).toHaveLength(calls);
    expect((await chat(gw, { message: 'y'.repeat(100) })).status).toBe(200);
  });

  it('refuses an over-size /v1/chat/completions message, naming which one', async () => {
    const response = await complete(gw, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'z'.repeat(101) }] }] });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ param: 'messages[1].content', code: 'message_too_long' });
  });

  it('sends a session to the model trimmed to MAX_HISTORY_CHARS: oldest turns first, the newest message whole', async () => {
    let sessionId: string | undefined;
    for (let turn = 1; turn <= 4; turn++) {
      const response = await chat(gw, { sessionId, message: `${turn}`.repeat(40) });
      sessionId = (await response.json()).sessionId;
    }
    const sent = gw.fake.completions().at(-1)!.body.messages as Array<{ role: string; content: string }>;
    // Each exchange is 40 + 46 characters (the fake answers "echo: <message>"): the oldest one goes.
    expect(sent.map((m) => `${m.role} ${m.content.at(-1)}`)).toEqual(['user 2', 'assistant 2', 'user 3', 'assistant 3', 'user 4']);
    expect(textLength(sent)).toBeLessThanOrEqual(250);
  });

  it('keeps the system prompt of a trimmed completion and never opens the rest with an assistant turn', async () => {
    // Dropping the two oldest turns' user messages is enough; the answer to the second must go too.
    const turns = [
      { role: 'user', content: 'a'.repeat(60) },
      { role: 'assistant', content: 'b'.repeat(40) },
      { role: 'user', content: 'c'.repeat(100) },
      { role: 'assistant', content: 'd'.repeat(40) },
      { role: 'user', content: 'e'.repeat(10) },
      { role: 'assistant', content: 'f'.repeat(10) },
    ];
    const response = await complete(gw, { messages: [{ role: 'system', content: 'S'.repeat(50) }, ...turns, { role: 'user', content: 'last'.repeat(20) }] });
    expect(response.status).toBe(200);
    const sent = gw.fake.completions().at(-1)!.body.messages as Array<{ role: string; content: string }>;
    expect(sent[0]).toEqual({ role: 'system', content: 'S'.repeat(50) });
    expect(sent.slice(1).map((m) => m.content[0])).toEqual(['e', 'f', 'l']);
    expect(textLength(sent)).toBeLessThanOrEqual(250);
  });

  it('never opens a trimmed completion with the results of a tool call it cut', async () => {
    // Dropping the oldest user message is enough; the call and its result must go with it.
    const turns = [
      { role: 'user', content: 'a'.repeat(60) },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call-1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call-1', content: 'r'.repeat(100) },
      { role: 'assistant', content: 'f'.repeat(10) },
    ];
    const response = await complete(gw, { messages: [{ role: 'system', content: 'S'.repeat(50) }, ...turns, { role: 'user', content: 'last'.repeat(20) }] });
    expect(response.status).toBe(200);
    const sent = gw.fake.completions().at(-1)!.body.messages as Array<{ role: string; content: string }>;
    expect(sent.map((m) => m.role)).toEqual(['system', 'user']);
  });
});

describe('the limit settings', () => {
  const settingError = (env: Record<string, string>) => {
    try {
      loadSettings(env, os.tmpdir());
    } catch (error) {
      return error as ConfigError;
    }
    throw new Error('no error');
  };

  it('refuse bad values naming the variable', () => {
    expect(settingError({ MAX_MESSAGE_CHARS: 'lots' }).variable).toBe('MAX_MESSAGE_CHARS');
    expect(settingError({ MAX_MESSAGE_CHARS: '500', MAX_HISTORY_CHARS: '400' }).message).toMatch(/^MAX_HISTORY_CHARS: must be at least MAX_MESSAGE_CHARS/);
    expect(settingError({ CONVERSATION_RETENTION_DAYS: '0' }).variable).toBe('CONVERSATION_RETENTION_DAYS');
    expect(settingError({ CONVERSATION_LOG_MAX_MB: '-1' }).variable).toBe('CONVERSATION_LOG_MAX_MB');
    expect(settingError({ MEMORY_STORE_MAX_ENTRIES: '10' }).variable).toBe('MEMORY_STORE_MAX_ENTRIES');
    expect(settingError({ MEMORY_STORE_MAX_MB: 'big' }).variable).toBe('MEMORY_STORE_MAX_MB');
    expect(settingError({ LOG_MAX_MB: '0' }).variable).toBe('LOG_MAX_MB');
    expect(settingError({ LOG_RETENTION_DAYS: '1.5' }).variable).toBe('LOG_RETENTION_DAYS');
    expect(settingError({ SHARED_DATA_DIR: 'yes' }).variable).toBe('SHARED_DATA_DIR');
  });

  it('have documented defaults', () => {
    const settings = loadSettings({}, os.tmpdir());
    expect(settings.limits).toEqual({ maxMessageChars: 16_000, maxHistoryChars: 48_000 });
    expect(settings.conversationRetentionDays).toBe(90);
    expect(settings.conversationLogMaxBytes).toBe(1024 * 1024 * 1024);
    expect(settings.memoryStore).toEqual({ maxEntries: 100_000, maxBytes: 256 * 1024 * 1024 });
  });
});

describe('conversation log retention', () => {
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  let dataDir: string;
  let conversations: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdbot-retention-'));
    conversations = path.join(dataDir, DATA_LAYOUT.conversations);
    fs.mkdirSync(conversations);
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('deletes day files older than CONVERSATION_RETENTION_DAYS at start, and leaves other files alone', async () => {
    for (const name of [`${day(400)}.jsonl`, `${day(8)}.jsonl`, `${day(7)}.jsonl`, `${day(1)}.jsonl`, 'notes.txt']) fs.writeFileSync(path.join(conversations, name), '{}\n');
    const gw = await startGatewayWithFakeModel({ CLAWDBOT_DATA_DIR: dataDir, CONVERSATION_RETENTION_DAYS: '7' });
    await gw.close();
    expect(fs.readdirSync(conversations).sort()).toEqual([`${day(7)}.jsonl`, `${day(1)}.jsonl`, 'notes.txt'].sort());
  });

  it('keeps the files within CONVERSATION_LOG_MAX_MB: older days go first, then today stops being recorded', async () => {
    const maxBytes = 4096;
    fs.writeFileSync(path.join(conversations, `${day(2)}.jsonl`), `${'{}'.padEnd(1999)}\n`);
    fs.writeFileSync(path.join(conversations, `${day(1)}.jsonl`), `${'{}'.padEnd(999)}\n`);
    const gw = await startGatewayWithFakeModel({ CLAWDBOT_DATA_DIR: dataDir, CONVERSATION_LOG_MAX_MB: String(maxBytes / 1024 / 1024) });
    try {
      for (let turn = 0; turn < 30; turn++) expect((await chat(gw, { message: `question ${turn} ${'q'.repeat(100)}` })).status).toBe(200);
      const files = fs.readdirSync(conversations);
      expect(files).toEqual([`${day(0)}.jsonl`]);
      const size = fs.statSync(path.join(conversations, files[0])).size;
      expect(size).toBeLessThanOrEqual(maxBytes);
      expect(size).toBeGreaterThan(maxBytes - 500);
      expect(await gw.readLog(LOG_FILES.error)).toContain('conversation log is full');
    } finally {
      await gw.close();
    }
  });

  describe('in a data dir that replicas share (SHARED_DATA_DIR)', () => {
    const exchange = (user: string): ExchangeRecord => ({
      time: new Date().toISOString(),
      channel: 'api',
      model: { provider: 'rules', name: 'rules' },
      source: 'rules',
      user,
      reply: 'ok',
      durationMs: 1,
    });
    const lines = (file: string) => fs.readFileSync(path.join(conversations, file), 'utf8').trim().split('\n').map((line) => JSON.parse(line).user);

    it('gives each replica files of its own, so no two processes append to one file', async () => {
      const a = new ConversationLog(conversations, pino({ level: 'silent' }), { retentionDays: 90, maxBytes: 1e9 }, 'task-a');
      const b = new ConversationLog(conversations, pino({ level: 'silent' }), { retentionDays: 90, maxBytes: 1e9 }, 'task-b');
      await Promise.all([1, 2, 3].flatMap((n) => [a.write(exchange(`a${n}`)), b.write(exchange(`b${n}`))]));
      await Promise.all([a.close(), b.close()]);
      expect(fs.readdirSync(conversations).sort()).toEqual([`${day(0)}.task-a.jsonl`, `${day(0)}.task-b.jsonl`]);
      expect(lines(`${day(0)}.task-a.jsonl`)).toEqual(['a1', 'a2', 'a3']);
      expect(lines(`${day(0)}.task-b.jsonl`)).toEqual(['b1', 'b2', 'b3']);
    });

    it('expires any replica\'s files past the retention (replicas of earlier deploys are gone), and bounds only its own by size', async () => {
      const big = `${'{}'.padEnd(3999)}\n`;
      fs.writeFileSync(path.join(conversations, `${day(30)}.gone-task.jsonl`), '{}\n');
      fs.writeFileSync(path.join(conversations, `${day(2)}.other-task.jsonl`), big);
      fs.writeFileSync(path.join(conversations, `${day(2)}.this-task.jsonl`), big);
      const log = new ConversationLog(conversations, pino({ level: 'silent' }), { retentionDays: 7, maxBytes: 4096 }, 'this-task');
      await log.write(exchange('today'));
      await log.close();
      expect(fs.readdirSync(conversations).sort()).toEqual([`${day(2)}.other-task.jsonl`, `${day(0)}.this-task.jsonl`].sort());
    });

    it('names the gateway\'s files after its host (an ECS task\'s own hostname)', async () => {
      const gw = await startGatewayWithFakeModel({ CLAWDBOT_DATA_DIR: dataDir, SHARED_DATA_DIR: 'true' });
      try {
        expect((await chat(gw, { message: 'hello' })).status).toBe(200);
      } finally {
        await gw.close();
      }
      expect(fs.readdirSync(conversations)).toEqual([`${day(0)}.${os.hostname()}.jsonl`]);
    });
  });
});
