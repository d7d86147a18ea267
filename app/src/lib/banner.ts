import path from 'node:path';
import { DATA_LAYOUT, PORTS } from '../contract';
import type { ModelDescriptor } from '../models/types';

/** What a person starting the gateway in a terminal needs to know to use it. */
export interface BannerFacts {
  /** The page's address as a browser visits it. */
  url: string;
  port: number;
  dataDir: string;
  /** Whether the API keys come from CLAWDBOT_API_KEYS (else one was generated into the data dir). */
  keysConfigured: boolean;
  model: ModelDescriptor;
  routing: 'hybrid' | 'llm';
  cwd: string;
}

/** A path as short as it can be said from the working directory. */
function shortPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * The start-up notice for a person (stdout is a terminal): where to go next. Logs and non-TTY
 * output keep pino's JSON lines instead.
 */
export function startupBanner(facts: BannerFacts): string {
  const portPrefix = facts.port === PORTS.gateway ? '' : `PORT=${facts.port} `;
  const key = facts.keysConfigured
    ? 'one of CLAWDBOT_API_KEYS'
    : `cat ${shortPath(path.join(facts.dataDir, DATA_LAYOUT.generatedApiKey), facts.cwd)}`;
  const { provider, name } = facts.model;
  const model = provider === 'rules' ? 'the built-in rules engine' : `${provider}/${name}`;
  const routing = facts.routing === 'hybrid' && provider !== 'rules' ? ' (greetings, help and the FAQ stay on the rules engine)' : '';
  return [
    `clawdbot is running: ${model}${routing}`,
    '',
    `  Chat in the browser   ${facts.url}`,
    `  API key               ${key}`,
    `  Chat in a terminal    ${portPrefix}npm run chat`,
    `  Switch the model      ${portPrefix}npm run modelctl -- --help`,
    `  Docs                  README.md, docs/clients.md, docs/bot.md`,
    '',
    `Logs are in ${shortPath(path.join(facts.dataDir, DATA_LAYOUT.logs), facts.cwd)}/. Ctrl-C stops the gateway.`,
    '',
  ].join('\n');
}

/** A listener that cannot start because its port is taken: one line naming the variable to change. */
export class PortInUseError extends Error {
  constructor(variable: 'PORT' | 'METRICS_PORT', host: string, port: number) {
    super(`port ${port} on ${host} is already in use (EADDRINUSE): stop what runs there (another npm start?) or set ${variable} to a free port`);
    this.name = 'PortInUseError';
  }
}

/** Rethrows EADDRINUSE from `listen` as a PortInUseError. */
export async function listenOn<T>(variable: 'PORT' | 'METRICS_PORT', host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(variable, host, port);
    throw error;
  }
}
