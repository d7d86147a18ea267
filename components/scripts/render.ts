import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_LAYOUT, HOST_PATHS, PORTS } from '../../app/src/contract';

// Renders the host steps of a deployment: each step is a bash script in this directory, put
// after its parameters and the shared library in lib/. The Deployment component hands these texts to
// remote commands, and the e2e suite runs the very same texts over SSH. This is the core every
// step's renderer (the .ts file named after its step, or its group of steps) builds on.

/** The ports each bot slot publishes on its own loopback address; app/Caddyfile proxies to them. */
export const SLOT_PORTS = { gateway: PORTS.gateway + 1, metrics: PORTS.metrics + 1 } as const;

/**
 * The bot's outbound network (app/compose.yaml's `edge`), created by the deploy steps with this
 * fixed range. Caddy, on the host network, reaches a slot's published port through it, so the bot
 * sees every proxied request come from the gateway address: the one proxy it trusts (TRUST_PROXY)
 * for X-Forwarded-For. Clear of Docker's default pools' first picks and of the VPCs' ranges
 * (172.31.0.0/16 default, 10.42.0.0/16 dedicated).
 */
export const EDGE_NETWORK = { subnet: '172.29.42.0/24', gateway: '172.29.42.1' } as const;

/** The repository root: the image's build context, and what RELEASE_FILES (release.ts) are relative to. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** How the host steps behave; the same values must reach activate and rollback. */
export interface HostStepSettings {
  /** Activated releases kept on the host for rollback. */
  keepReleases: number;
  /** How long a new release gets to answer /health before it is abandoned. */
  healthTimeoutSeconds: number;
  /** How long a step waits for another deploy, rollback or restore on the same host. */
  lockTimeoutSeconds: number;
}

export const DEFAULT_HOST_STEP_SETTINGS: HostStepSettings = {
  keepReleases: 5,
  healthTimeoutSeconds: 120,
  lockTimeoutSeconds: 600,
};

export type Params = Record<string, string | number>;

const STEP_DELIMITER = 'CLAWDBOT_STEP';
const TOOL_DELIMITER = 'CLAWDBOT_TOOL';

/** The shared library every step gets, by concern; later parts use functions of earlier ones. */
const LIBRARY_PARTS = ['lib/host.sh', 'lib/release.sh', 'lib/backup.sh'];

/** Quotes a value for POSIX shells: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** The elements of a bash array literal, each quoted. */
export function shellWords(values: readonly (string | number)[]): string {
  return values.map(shellQuote).join(' ');
}

function readScript(name: string): string {
  return readFileSync(path.join(__dirname, name), 'utf8');
}

function library(): string {
  return LIBRARY_PARTS.map(readScript).join('\n');
}

/** Parameters every host script gets: the layout of HOST_PATHS and the ports. */
function hostParams(settings: HostStepSettings): Params {
  return {
    CLAWDBOT_ROOT: HOST_PATHS.root,
    DATA_DIR: HOST_PATHS.data,
    RELEASES_DIR: HOST_PATHS.releases,
    LOGS_DIR: HOST_PATHS.logs,
    REDIS_DIR: HOST_PATHS.redisData,
    BACKUP_ENV: HOST_PATHS.backupEnv,
    METRICS_PORT: PORTS.metrics,
    // Where each bot slot publishes its gateway on its loopback address (app/compose.yaml).
    SLOT_GATEWAY_PORT: SLOT_PORTS.gateway,
    EDGE_SUBNET: EDGE_NETWORK.subnet,
    EDGE_GATEWAY: EDGE_NETWORK.gateway,
    // Never backed up: the data dir's secrets (a generated API key).
    EXCLUDED_DATA: path.dirname(DATA_LAYOUT.generatedApiKey),
    KEEP_RELEASES: settings.keepReleases,
    HEALTH_TIMEOUT_SECONDS: settings.healthTimeoutSeconds,
    LOCK_TIMEOUT_SECONDS: settings.lockTimeoutSeconds,
  };
}

/** A complete bash script: strict mode, the parameters, the library (lib/), then the step's body. */
export function renderScript(step: string, params: Params, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  const assignments = Object.entries({ ...hostParams(settings), ...params })
    .map(([name, value]) => `${name}=${shellQuote(value)}`)
    .join('\n');
  return [
    '#!/usr/bin/env bash',
    `# clawdbot ${step}: rendered by components/scripts/render.ts from ${step}.sh and lib/.`,
    'set -euo pipefail',
    'shopt -s inherit_errexit',
    assignments,
    library(),
    readScript(`${step}.sh`),
  ].join('\n');
}

/**
 * For reading a plan: every rendered step in `text` keeps its header and parameters, and its
 * code (lib/ and the step's file, which the repository shows) becomes one line with their hash.
 */
export function abbreviateSteps(text: string): string {
  let abbreviated = text;
  for (const file of readdirSync(__dirname).filter((name) => name.endsWith('.sh'))) {
    const code = `${library()}\n${readScript(file)}`.replace(/\n$/, '');
    if (abbreviated.includes(code)) {
      abbreviated = abbreviated.split(code).join(`# lib/ + ${file} (components/scripts/), sha256 ${createHash('sha256').update(code).digest('hex').slice(0, 12)}`);
    }
  }
  return abbreviated;
}

/**
 * The command text that runs a script through the remote user's login shell (any POSIX shell):
 * bash reads the script from fd 3, so stdin stays free for data such as the env file.
 */
export function asCommand(script: string): string {
  if (script.split('\n').includes(STEP_DELIMITER)) throw new Error(`a step's text may not hold the line ${STEP_DELIMITER}`);
  return `bash /dev/fd/3 3<<'${STEP_DELIMITER}'\n${script}\n${STEP_DELIMITER}\n`;
}

/** `<function> <name> <<'CLAWDBOT_TOOL'` here-documents that hand each file's text to a step's function. */
export function hereDocuments(install: string, files: Record<string, string>): string {
  return Object.entries(files)
    .map(([name, text]) => {
      if (text.split('\n').includes(TOOL_DELIMITER)) throw new Error(`${name} may not hold the line ${TOOL_DELIMITER}`);
      return `${install} ${name} <<'${TOOL_DELIMITER}'\n${text.replace(/\n$/, '')}\n${TOOL_DELIMITER}`;
    })
    .join('\n');
}
