import { BlockList, isIP } from 'node:net';
import { DATA_LAYOUT, PORTS } from '../contract';
import { dataDirFrom, readKeptSecret } from '../lib/data-dir';

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

/**
 * The gateway both CLIs (the terminal chat and modelctl) talk to: CLAWDBOT_URL, else the one
 * next to `npm start` on this machine, at http://127.0.0.1:$PORT (PORT as the gateway reads it).
 */
export function gatewayUrlFrom(env: NodeJS.ProcessEnv): URL {
  const port = env.PORT?.trim() || String(PORTS.gateway);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ClientConfigError('PORT', `"${port}" is not a port number (1-65535)`);
  }
  const fallback = `http://127.0.0.1:${port}`;
  const text = env.CLAWDBOT_URL?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientConfigError('CLAWDBOT_URL', `"${text}" is not a URL; use one like ${fallback}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError('CLAWDBOT_URL', `must be an http:// or https:// URL, got ${url.protocol}//`);
  }
  return url;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether the URL names this machine: localhost, 127.0.0.0/8 or ::1 (IPv4-mapped included). */
function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The key of a gateway on this machine, found the way it finds its own: the first of
 * CLAWDBOT_API_KEYS, else the key it generated into <data dir>/secrets/api-key.
 */
function localGatewayKey(env: NodeJS.ProcessEnv, cwd: string): string {
  const configured = env.CLAWDBOT_API_KEYS?.split(',').map((key) => key.trim()).find(Boolean);
  if (configured) return configured;
  let kept: { file: string; secret?: string };
  try {
    kept = readKeptSecret(dataDirFrom(env, cwd), DATA_LAYOUT.generatedApiKey);
  } catch (error) {
    const file = (error as NodeJS.ErrnoException).path ?? 'the generated key file';
    throw new ClientConfigError('CLAWDBOT_API_KEY', `not set, and ${file} cannot be read (${(error as NodeJS.ErrnoException).code}); set it to one of the gateway's API keys`);
  }
  if (!kept.secret) throw new ClientConfigError('CLAWDBOT_API_KEY', `not set, and no generated key at ${kept.file}; set it to one of the gateway's API keys`);
  return kept.secret;
}

/**
 * The terminal UI's gateway and key. CLAWDBOT_API_KEY wins. Without it, a gateway on this
 * machine (its container, or next to `npm start`) is reached with its own key; a local key is
 * never sent to another host, which might not be that gateway at all.
 */
export function loadClientConfig(env: NodeJS.ProcessEnv, cwd: string): ClientConfig {
  const url = gatewayUrlFrom(env);
  const explicitKey = env.CLAWDBOT_API_KEY?.trim();
  if (!explicitKey && !isLoopback(url)) {
    throw new ClientConfigError(
      'CLAWDBOT_API_KEY',
      `not set; it is needed for ${url.host}, which is not this machine (a local gateway's key is only used for localhost)`,
    );
  }
  const apiKey = explicitKey || localGatewayKey(env, cwd);
  if (/[\s\x00-\x1f\x7f]/.test(apiKey)) {
    throw new ClientConfigError('CLAWDBOT_API_KEY', 'contains spaces or control characters; an API key is one word');
  }
  return { url, apiKey };
}
