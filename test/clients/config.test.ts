import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClientConfigError, loadClientConfig } from '../../app/src/tui/config';

describe('terminal client settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'clawdbot-chat-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function problem(env: NodeJS.ProcessEnv): ClientConfigError {
    try {
      loadClientConfig(env, dir);
    } catch (error) {
      if (error instanceof ClientConfigError) return error;
      throw error;
    }
    throw new Error('expected a ClientConfigError');
  }

  it('takes the URL and key from CLAWDBOT_URL and CLAWDBOT_API_KEY', () => {
    const config = loadClientConfig({ CLAWDBOT_URL: 'https://bot.example.com/chat', CLAWDBOT_API_KEY: 'k-1234567890abcdef' }, dir);
    expect(config.url.href).toBe('https://bot.example.com/chat');
    expect(config.apiKey).toBe('k-1234567890abcdef');
  });

  it('defaults to the local gateway and the key it generated into the data dir', () => {
    mkdirSync(path.join(dir, 'data', 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'secrets', 'api-key'), 'generated-key-0123456789\n');
    const config = loadClientConfig({}, dir);
    expect(config.url.href).toBe('http://127.0.0.1:18789/');
    expect(config.apiKey).toBe('generated-key-0123456789');
  });

  it("uses the gateway's first configured key when run in its environment", () => {
    expect(loadClientConfig({ CLAWDBOT_API_KEYS: ' first-key-0123456789 , second' }, dir).apiKey).toBe('first-key-0123456789');
  });

  it("uses the local gateway's key for any loopback address", () => {
    mkdirSync(path.join(dir, 'data', 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'secrets', 'api-key'), 'generated-key-0123456789\n');
    for (const url of ['http://localhost:18789', 'http://127.0.0.1:18789', 'http://127.3.2.1:8080/bot', 'http://[::1]:18789', 'http://[::ffff:127.0.0.1]:18789']) {
      expect([url, loadClientConfig({ CLAWDBOT_URL: url }, dir).apiKey]).toEqual([url, 'generated-key-0123456789']);
      expect([url, loadClientConfig({ CLAWDBOT_URL: url, CLAWDBOT_API_KEYS: 'configured-key-0123456789' }, dir).apiKey]).toEqual([url, 'configured-key-0123456789']);
    }
  });

  it('never sends a local key to another host: CLAWDBOT_API_KEY is required there', () => {
    mkdirSync(path.join(dir, 'data', 'secrets'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'secrets', 'api-key'), 'generated-key-0123456789\n');
    const localKeys = { CLAWDBOT_API_KEYS: 'configured-key-0123456789' };
    for (const url of ['https://bot.example.com', 'http://10.0.0.5:18789', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://[::2]:18789']) {
      for (const env of [{}, localKeys]) {
        const error = problem({ CLAWDBOT_URL: url, ...env });
        expect([url, error.variable]).toEqual([url, 'CLAWDBOT_API_KEY']);
        expect(error.message).toContain(`it is needed for ${new URL(url).host}, which is not this machine`);
        expect(error.message).not.toMatch(/generated-key|configured-key/);
      }
    }
    expect(loadClientConfig({ CLAWDBOT_URL: 'https://bot.example.com', CLAWDBOT_API_KEY: 'remote-key-0123456789', ...localKeys }, dir).apiKey).toBe('remote-key-0123456789');
  });

  it('names CLAWDBOT_API_KEY when there is no key at all', () => {
    const error = problem({ CLAWDBOT_DATA_DIR: path.join(dir, 'empty') });
    expect(error.variable).toBe('CLAWDBOT_API_KEY');
    expect(error.message).toMatch(/^CLAWDBOT_API_KEY: not set/);
  });

  it('names CLAWDBOT_API_KEY when the key cannot be a header value', () => {
    expect(problem({ CLAWDBOT_API_KEY: 'two words' }).variable).toBe('CLAWDBOT_API_KEY');
  });

  it('names CLAWDBOT_URL when it is not an http(s) URL', () => {
    expect(problem({ CLAWDBOT_URL: 'localhost:18789', CLAWDBOT_API_KEY: 'k' }).message).toMatch(/^CLAWDBOT_URL: /);
    expect(problem({ CLAWDBOT_URL: 'not a url', CLAWDBOT_API_KEY: 'k' }).variable).toBe('CLAWDBOT_URL');
  });
});
