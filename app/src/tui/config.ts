import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_LAYOUT, PORTS } from '../contract';

/** A client setting that cannot work; the message starts with the environment variable to fix. */
export class ClientConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ClientConfigError';
  }
}

export interface ClientConfig {
  url: URL;
  apiKey: string;
}

const DEFAULT_URL = `http://127.0.0.1:${PORTS.gateway}`;

function gatewayUrl(value: string | undefined): URL {
  const text = value?.trim() || DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientConfigError('CLAWDBOT_URL', `"${text}" is not a URL; use one like ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError('CLAWDBOT_URL', `must be an http:// or https:// URL, got ${url.protocol}//`);
  }
  return url;
}

function readGeneratedKey(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The terminal UI's gateway and key. CLAWDBOT_API_KEY wins; run where the gateway runs (its
 * container, or next to `npm start`), the gateway's own key is used: the first of
 * CLAWDBOT_API_KEYS, else the key it generated into <data dir>/secrets/api-key.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv, cwd: string): ClientConfig {
  const url = gatewayUrl(env.CLAWDBOT_URL);
  const generatedKeyFile = path.resolve(cwd, env.CLAWDBOT_DATA_DIR?.trim() || 'data', DATA_LAYOUT.generatedApiKey);
  const apiKey =
    env.CLAWDBOT_API_KEY?.trim() ||
    env.CLAWDBOT_API_KEYS?.split(',').map((key) => key.trim()).find(Boolean) ||
    readGeneratedKey(generatedKeyFile);
  if (!apiKey) {
    throw new ClientConfigError(
      'CLAWDBOT_API_KEY',
      `not set, and no generated key at ${generatedKeyFile}; set it to one of the gateway's API keys`,
    );
  }
  if (/[\s\x00-\x1f\x7f]/.test(apiKey)) {
    throw new ClientConfigError('CLAWDBOT_API_KEY', 'contains spaces or control characters; an API key is one word');
  }
  return { url, apiKey };
}
