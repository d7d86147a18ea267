import { parseArgs } from 'node:util';
import { DATA_LAYOUT, PORTS, ROUTES } from '../contract';
import { dataDirFrom, readKeptSecret } from '../lib/data-dir';
import { ClientConfigError, gatewayUrlFrom } from '../tui/config';

const USAGE = `usage:
  modelctl status
  modelctl switch --name <model> [--endpoint <url>] [--provider openai|anthropic|rules] [--api-key <key> | --api-key -]

  --api-key -   reads the key from stdin, so it stays out of shell history and ps.

environment:
  CLAWDBOT_URL          the gateway (default http://127.0.0.1:$PORT, PORT defaulting to ${PORTS.gateway})
  CLAWDBOT_ADMIN_TOKEN  the admin token (default: the one the gateway generated in
                        $CLAWDBOT_DATA_DIR/${DATA_LAYOUT.generatedAdminToken}, data dir ./data by default)
`;

export interface ModelctlIO {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

class UsageError extends Error {}

interface ModelStatus {
  model: { provider: string; name: string; endpoint?: string };
  switchedAt?: string;
  switchedBy?: string;
  keyExpiresAt?: string;
  routing?: 'hybrid' | 'llm';
  durationMs?: number;
}

function adminToken(env: NodeJS.ProcessEnv): string {
  if (env.CLAWDBOT_ADMIN_TOKEN) return env.CLAWDBOT_ADMIN_TOKEN;
  let kept: ReturnType<typeof readKeptSecret>;
  try {
    kept = readKeptSecret(dataDirFrom(env), DATA_LAYOUT.generatedAdminToken);
  } catch (error) {
    throw new UsageError(`set CLAWDBOT_ADMIN_TOKEN (${(error as Error).message})`);
  }
  if (!kept.secret) throw new UsageError(`set CLAWDBOT_ADMIN_TOKEN (no generated token in ${kept.file})`);
  return kept.secret;
}

function describe(status: ModelStatus): string {
  const { provider, name, endpoint } = status.model;
  const lines = [`model:        ${provider}/${name}${endpoint ? ` at ${endpoint}` : ''}`];
  if (status.switchedAt) lines.push(`switched:     ${status.switchedAt} by ${status.switchedBy ?? 'unknown'}`);
  if (status.keyExpiresAt) lines.push(`key expires:  ${status.keyExpiresAt}`);
  if (status.routing === 'hybrid' && provider !== 'rules') {
    lines.push(
      'routing:      hybrid: greetings, help, the time and questions in faq.json stay on the rules engine;',
      `              everything else goes to ${name}. ROUTING=llm sends every message to the model.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The whole CLI; returns the exit code (0 done, 1 the gateway refused or is unreachable, 2 usage). */
export async function runModelctl(argv: string[], env: NodeJS.ProcessEnv, io: ModelctlIO): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        endpoint: { type: 'string' },
        provider: { type: 'string' },
        'api-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const command = positionals[0];
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (positionals.length !== 1 || (command !== 'status' && command !== 'switch')) throw new UsageError('expected one command: status or switch');
    if (command === 'status' && (values.name || values.endpoint || values.provider || values['api-key'])) {
      throw new UsageError('status takes no options');
    }
    if (command === 'switch' && !values.name) throw new UsageError('switch needs --name <model>');

    const base = gatewayUrlFrom(env).href.replace(/\/+$/, '');
    const headers: Record<string, string> = { authorization: `Bearer ${adminToken(env)}` };
    let body: string | undefined;
    if (command === 'switch') {
      const apiKey = values['api-key'] === '-' ? (await io.readStdin()).trim() : values['api-key'];
      if (values['api-key'] === '-' && !apiKey) throw new UsageError('--api-key -: stdin was empty');
      headers['content-type'] = 'application/json';
      body = JSON.stringify({ name: values.name, endpoint: values.endpoint, provider: values.provider, apiKey });
    }

    let response: Response;
    try {
      response = await fetch(`${base}${ROUTES.adminModel}`, { method: command === 'switch' ? 'PUT' : 'GET', headers, body });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      io.err(`modelctl: cannot reach the gateway at ${base}: ${cause?.message ?? (error as Error).message}\n`);
      return 1;
    }
    const answer = (await response.json().catch(() => ({}))) as ModelStatus & { error?: { message?: string } };
    if (!response.ok) {
      io.err(`modelctl: ${response.status}: ${answer.error?.message ?? response.statusText}\n`);
      return 1;
    }
    if (command === 'switch') io.out(`switched in ${answer.durationMs} ms\n`);
    io.out(describe(answer));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ClientConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`modelctl: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Entry point for `npm run modelctl` and app/bin/modelctl. */
export async function main(): Promise<void> {
  process.exitCode = await runModelctl(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    readStdin,
  });
}

if (require.main === module) void main();
