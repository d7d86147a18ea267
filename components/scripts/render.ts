import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_LAYOUT, HOST_PATHS, PORTS } from '../../app/src/contract';

// Renders the host steps of a deployment: each step is a bash script in this directory, put
// after its parameters and the shared lib.sh. The Deployment component hands these texts to
// remote commands, and the e2e suite runs the very same texts over SSH.

/** Host files that the backup timer (cloud-init) and the runbook refer to. */
export const HOST_FILES = {
  /** Bucket settings of the backup job: BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_RETENTION_DAYS, AWS_REGION. */
  backupEnv: `${HOST_PATHS.root}/backup.env`,
  backupCommand: `${HOST_PATHS.bin}/backup`,
  restoreCommand: `${HOST_PATHS.bin}/restore`,
} as const;

/** The ports each bot slot publishes on its own loopback address; app/Caddyfile proxies to them. */
export const SLOT_PORTS = { gateway: PORTS.gateway + 1, metrics: PORTS.metrics + 1 } as const;

/** The app's files that make up a release besides its image. */
export const RELEASE_FILES = {
  compose: path.join(__dirname, '..', '..', 'app', 'compose.yaml'),
  caddyfile: path.join(__dirname, '..', '..', 'app', 'Caddyfile'),
} as const;

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

/** What the restore-on-boot step does on a fresh host: restore the newest backup, a named key, or nothing. */
export type RestoreOnBoot = 'latest' | 'none' | { key: string };

type Params = Record<string, string | number>;

const STEP_DELIMITER = 'CLAWDBOT_STEP';
const TOOL_DELIMITER = 'CLAWDBOT_TOOL';

/** Quotes a value for bash: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

function readScript(name: string): string {
  return readFileSync(path.join(__dirname, name), 'utf8');
}

/** Parameters every host script gets: the layout of HOST_PATHS and the ports. */
function hostParams(settings: HostStepSettings): Params {
  return {
    CLAWDBOT_ROOT: HOST_PATHS.root,
    DATA_DIR: HOST_PATHS.data,
    RELEASES_DIR: HOST_PATHS.releases,
    BACKUP_ENV: HOST_FILES.backupEnv,
    METRICS_PORT: PORTS.metrics,
    // Where each bot slot publishes its gateway on its loopback address (app/compose.yaml).
    SLOT_GATEWAY_PORT: SLOT_PORTS.gateway,
    // Never backed up: the data dir's secrets (a generated API key).
    EXCLUDED_DATA: path.dirname(DATA_LAYOUT.generatedApiKey),
    KEEP_RELEASES: settings.keepReleases,
    HEALTH_TIMEOUT_SECONDS: settings.healthTimeoutSeconds,
    LOCK_TIMEOUT_SECONDS: settings.lockTimeoutSeconds,
  };
}

/** A complete bash script: strict mode, the parameters, lib.sh, then the step's body. */
export function renderScript(step: string, params: Params, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  const assignments = Object.entries({ ...hostParams(settings), ...params })
    .map(([name, value]) => `${name}=${shellQuote(value)}`)
    .join('\n');
  return [
    '#!/usr/bin/env bash',
    `# clawdbot ${step}: rendered by components/scripts/render.ts from ${step}.sh and lib.sh.`,
    'set -euo pipefail',
    'shopt -s inherit_errexit',
    assignments,
    readScript('lib.sh'),
    readScript(`${step}.sh`),
  ].join('\n');
}

/**
 * The command text that runs a script through the remote user's login shell (any POSIX shell):
 * bash reads the script from fd 3, so stdin stays free for data such as the env file.
 */
export function asCommand(script: string): string {
  if (script.split('\n').includes(STEP_DELIMITER)) throw new Error(`a step's text may not hold the line ${STEP_DELIMITER}`);
  return `bash /dev/fd/3 3<<'${STEP_DELIMITER}'\n${script}\n${STEP_DELIMITER}\n`;
}

/** Readiness: cloud-init done (where there is one), then the Docker daemon and compose. */
export function waitForHostCommand(dockerTimeoutSeconds = 600): string {
  return asCommand(renderScript('wait-for-host', { DOCKER_TIMEOUT_SECONDS: dockerTimeoutSeconds }));
}

/** Prints "present" or "missing": whether the host already has the image. */
export function probeImageCommand(imageId: string): string {
  return asCommand(renderScript('probe-image', { IMAGE_ID: imageId }));
}

/** Local: the image as a compressed `docker save` at `archive`, or an empty file when the host has it. */
export function saveImageCommand(args: { imageId: string; archive: string; hostHasImage: string }): string {
  return asCommand(renderScript('save-image', { IMAGE_ID: args.imageId, ARCHIVE: args.archive, HOST_HAS_IMAGE: args.hostHasImage.trim() }));
}

/** Loads the shipped archive unless the host has the image, and tags it as the release. */
export function loadImageCommand(args: { imageId: string; archive: string; release: string }): string {
  return asCommand(renderScript('load-image', { IMAGE_ID: args.imageId, ARCHIVE: args.archive, RELEASE: args.release }));
}

/** ECR transport: pulls the image with the instance role and tags it as the release. */
export function pullImageCommand(args: { imageRef: string; registry: string; region: string; release: string }): string {
  return asCommand(
    renderScript('pull-image', { IMAGE_REF: args.imageRef, REGISTRY: args.registry, AWS_REGION: args.region, RELEASE: args.release }),
  );
}

/** Writes the env file from stdin (see renderEnvFile); the command text holds no secret. */
export function writeEnvCommand(): string {
  return asCommand(renderScript('write-env', { ENV_FILE: HOST_PATHS.envFile }));
}

/** The backup job, as installed at HOST_FILES.backupCommand. */
export function renderBackupTool(): string {
  return renderScript('backup', {});
}

/** The restore command, as installed at HOST_FILES.restoreCommand: `restore [latest|<key>]`. */
export function renderRestoreTool(settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return renderScript('restore', {}, settings);
}

/** Installs the backup job and the restore command into HOST_PATHS.bin. */
export function installToolsCommand(settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  const tools = { [path.basename(HOST_FILES.backupCommand)]: renderBackupTool(), [path.basename(HOST_FILES.restoreCommand)]: renderRestoreTool(settings) };
  const installs = Object.entries(tools).map(([name, text]) => {
    if (text.split('\n').includes(TOOL_DELIMITER)) throw new Error(`tool ${name} may not hold the line ${TOOL_DELIMITER}`);
    return `install_tool ${name} <<'${TOOL_DELIMITER}'\n${text}\n${TOOL_DELIMITER}`;
  });
  return asCommand(`${renderScript('install-tools', { BIN_DIR: HOST_PATHS.bin }, settings)}\n${installs.join('\n')}`);
}

export function restoreOnBootCommand(mode: RestoreOnBoot, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return asCommand(renderScript('restore-on-boot', { RESTORE_ON_BOOT: typeof mode === 'string' ? mode : mode.key }, settings));
}

/** The proxy settings of a release, kept with it (compose's .env in the release dir). */
export interface ReleaseProxySettings {
  /** The CNAME Caddy gets a certificate for; "localhost" (Caddy's internal CA) when unset. */
  domain?: string;
  /** Registry mirrors for hosts that cannot reach Docker Hub. */
  caddyImage?: string;
  redisImage?: string;
}

/** Activates a shipped release with zero downtime (activate_release in lib.sh). */
export function activateCommand(release: string, proxy: ReleaseProxySettings, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return asCommand(
    renderScript(
      'activate',
      { RELEASE: release, DOMAIN: proxy.domain ?? 'localhost', CADDY_IMAGE: proxy.caddyImage ?? '', REDIS_IMAGE: proxy.redisImage ?? '' },
      settings,
    ),
  );
}

/** Returns to a kept release; the one live before the current when `release` is omitted. */
export function rollbackCommand(release: string | undefined, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return asCommand(renderScript('rollback', { RELEASE: release ?? '' }, settings));
}

/** Deletion: stops the bot, proxy and Redis; keeps data, env file and releases. */
export function removeCommand(): string {
  return asCommand(renderScript('remove', {}));
}

/**
 * A release's id: the image and everything that shapes how it runs, hashed. The same inputs
 * always give the same id, so Pulumi re-runs the steps only when one of them changed.
 */
export function releaseId(imageId: string, proxy: ReleaseProxySettings): string {
  const hash = createHash('sha256');
  hash.update(imageId);
  for (const file of Object.values(RELEASE_FILES)) hash.update('\0').update(readFileSync(file));
  hash.update('\0').update(JSON.stringify([proxy.domain ?? '', proxy.caddyImage ?? '', proxy.redisImage ?? '']));
  return `r${hash.digest('hex').slice(0, 12)}`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Docker Compose v1 takes an env-file value literally; v2 interpolates `$`, unquotes a leading
// quote, ends the value at ` #` and trims it. Values without those read the same in both.
const ENV_UNSAFE = /[\r\n\0$\\]|^["']|\s#/;

/** The env file's text (KEY=value lines). Rejects, naming the variable, what the file cannot carry. */
export function renderEnvFile(environment: Record<string, string>): string {
  return Object.entries(environment)
    .map(([name, value]) => {
      if (!ENV_NAME.test(name)) throw new Error(`environment: ${JSON.stringify(name)} is not a valid variable name`);
      if (typeof value !== 'string') throw new Error(`environment.${name}: must be a string`);
      if (ENV_UNSAFE.test(value) || value !== value.trim()) {
        throw new Error(
          `environment.${name}: the value may not contain $, backslashes or line breaks, start with a quote, hold " #" or have surrounding spaces`,
        );
      }
      return `${name}=${value}\n`;
    })
    .join('');
}
