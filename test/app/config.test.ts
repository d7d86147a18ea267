import path from 'node:path';
import { ConfigError, loadSettings } from '../../app/src/lib/config';

describe('settings from the environment', () => {
  it('has embedded defaults: rules model, memory store, ./data', () => {
    const settings = loadSettings({}, '/srv/bot');
    expect(settings).toMatchObject({
      port: 18789,
      host: '0.0.0.0',
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
      dataDir: path.resolve('/srv/bot/data'),
      model: { provider: 'rules', name: 'rules' },
      routing: 'hybrid',
      rateLimitQps: 50,
      cacheTtlSeconds: 3600,
      logLevel: 'info',
      modelTimeoutMs: 120_000,
      requestTimeoutMs: 30_000,
    });
    expect(settings.apiKeys).toBeUndefined();
    // No answer length or temperature of ours: the client's, or else the provider's defaults.
    expect(settings.maxTokens).toBeUndefined();
    expect(settings.temperature).toBeUndefined();
    expect(settings.redis).toBeUndefined();
    expect(settings.trustProxy).toEqual([]);
  });

  it('picks the openai provider when only MODEL_API_KEY is given', () => {
    expect(loadSettings({ MODEL_API_KEY: 'sk-x' }).model).toMatchObject({ provider: 'openai', name: 'gpt-4o-mini', apiKey: 'sk-x' });
  });

  it('reads every variable', () => {
    const settings = loadSettings({
      PORT: '8080',
      CLAWDBOT_API_KEYS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      MODEL_PROVIDER: 'anthropic',
      MODEL_API_KEY: 'k',
      MODEL_KEY_EXPIRES_AT: '2027-01-31',
      REDIS_URL: 'redis://redis:6379',
      ROUTING: 'llm',
      RATE_LIMIT_QPS: '0.5',
      MODEL_TIMEOUT_SECONDS: '2.5',
      REQUEST_TIMEOUT_SECONDS: '2',
      TRUST_PROXY: '172.30.0.1, 10.89.0.0/24,fd00::/8',
    });
    expect(settings).toMatchObject({
      port: 8080,
      apiKeys: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
      model: { provider: 'anthropic', name: 'claude-sonnet-4-6' },
      redis: { url: 'redis://redis:6379' },
      routing: 'llm',
      rateLimitQps: 0.5,
      modelTimeoutMs: 2500,
      requestTimeoutMs: 2000,
      trustProxy: ['172.30.0.1', '10.89.0.0/24', 'fd00::/8'],
    });
    expect(settings.modelKeyExpiresAt?.toISOString()).toBe('2027-01-31T00:00:00.000Z');
  });

  it('reads the Sentinels that name the Redis primary', () => {
    const settings = loadSettings({ REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b:26380', REDIS_SENTINEL_NAME: 'main' });
    expect(settings.redis).toEqual({
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
      ],
      primaryName: 'main',
    });
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ METRICS_PORT: 'abc' }, 'METRICS_PORT'],
    [{ CLAWDBOT_API_KEYS: 'short' }, 'CLAWDBOT_API_KEYS'],
    [{ CLAWDBOT_ADMIN_TOKEN: 'short' }, 'CLAWDBOT_ADMIN_TOKEN'],
    [{ MODEL_PROVIDER: 'gemini' }, 'MODEL_PROVIDER'],
    [{ MODEL_PROVIDER: 'openai' }, 'MODEL_API_KEY'],
    [{ MODEL_ENDPOINT: 'ftp://x' }, 'MODEL_ENDPOINT'],
    [{ MODEL_KEY_EXPIRES_AT: 'next tuesday' }, 'MODEL_KEY_EXPIRES_AT'],
    [{ TEMPERATURE: '3' }, 'TEMPERATURE'],
    [{ ROUTING: 'random' }, 'ROUTING'],
    [{ RATE_LIMIT_QPS: '0' }, 'RATE_LIMIT_QPS'],
    [{ REDIS_URL: 'http://redis' }, 'REDIS_URL'],
    [{ REDIS_SENTINELS: '10.0.0.5:26379,10.0.0.6' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '10.0.0.5:26379', REDIS_URL: 'redis://redis:6379', REDIS_SENTINEL_NAME: 'main' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '10.0.0.5:26379' }, 'REDIS_SENTINEL_NAME'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MODEL_TIMEOUT_SECONDS: '-1' }, 'MODEL_TIMEOUT_SECONDS'],
    [{ REQUEST_TIMEOUT_SECONDS: '0' }, 'REQUEST_TIMEOUT_SECONDS'],
    [{ TRUST_PROXY: '172.30.0.1,caddy' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
  ])('refuses %j naming %s', (env, variable) => {
    let error: unknown;
    try {
      loadSettings(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message.startsWith(`${variable}: `)).toBe(true);
  });
});
