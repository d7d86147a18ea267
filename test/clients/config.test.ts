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
