import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_LAYOUT, HOST_PATHS, PORTS } from '../../app/src/contract';

// Renders the host steps of a deployment: each step is a bash script in this directory, put
// after its parameters and the shared lib.sh. The Deployment component hands these texts to
// remote commands, and the e2e suite runs the very same texts over SSH.

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

/** The repository root: the image's build context, and what the paths below are relative to. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/**
 * The app's files that make up a release besides its image, relative to the repository root,
 * where Pulumi runs the program and its providers: plans and previews show the same paths on
 * every machine.
 */
export const RELEASE_FILES = {
  compose: 'app/compose.yaml',
  caddyfile: 'app/Caddyfile',
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
    LOGS_DIR: HOST_PATHS.logs,
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
 * For reading a plan: every rendered step in `text` keeps its header and parameters, and its
 * code (lib.sh and the step's file, which the repository shows) becomes one line with their hash.
 */
export function abbreviateSteps(text: string): string {
  let abbreviated = text;
  for (const file of readdirSync(__dirname).filter((name) => name.endsWith('.sh') && name !== 'lib.sh')) {
    const code = `${readScript('lib.sh')}\n${readScript(file)}`.replace(/\n$/, '');
    if (abbreviated.includes(code)) {
      abbreviated = abbreviated.split(code).join(`# lib.sh + ${file} (components/scripts/), sha256 ${createHash('sha256').update(code).digest('hex').slice(0, 12)}`);
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

/** The host's CPU as `uname -m` names it, per Docker platform: readiness refuses a host of another. */
const MACHINE_OF_PLATFORM = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64' } as const;
export type Platform = keyof typeof MACHINE_OF_PLATFORM;

/** Readiness: cloud-init done (where there is one), the host's CPU the image's, then Docker and compose. */
export function waitForHostCommand(platform: Platform, dockerTimeoutSeconds = 600): string {
  return asCommand(renderScript('wait-for-host', { PLATFORM: platform, MACHINE: MACHINE_OF_PLATFORM[platform], DOCKER_TIMEOUT_SECONDS: dockerTimeoutSeconds }));
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

/**
 * Writes a settings file that may hold secrets from stdin (see renderEnvFile): the bot's env file,
 * or the backup settings of a host without an instance role. The command text holds no secret.
 */
export function writeEnvCommand(file: typeof HOST_PATHS.envFile | typeof HOST_PATHS.backupEnv = HOST_PATHS.envFile): string {
  return asCommand(renderScript('write-env', { ENV_FILE: file }));
}

/** The backup job, as installed at HOST_PATHS.backupCommand. */
export function renderBackupTool(): string {
  return renderScript('backup', {});
}

/** The restore command, as installed at HOST_PATHS.restoreCommand: `restore [latest|<key>]`. */
export function renderRestoreTool(settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return renderScript('restore', {}, settings);
}

/** `<function> <name> <<'CLAWDBOT_TOOL'` here-documents that hand each file's text to a step's function. */
function hereDocuments(install: string, files: Record<string, string>): string {
  return Object.entries(files)
    .map(([name, text]) => {
      if (text.split('\n').includes(TOOL_DELIMITER)) throw new Error(`${name} may not hold the line ${TOOL_DELIMITER}`);
      return `${install} ${name} <<'${TOOL_DELIMITER}'\n${text.replace(/\n$/, '')}\n${TOOL_DELIMITER}`;
    })
    .join('\n');
}

/**
 * Installs the backup job and the restore command into HOST_PATHS.bin, and records which
 * deployment the host belongs to (`hostId`): the deletion step of an older one leaves it alone.
 */
export function installToolsCommand(hostId: string, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  const tools = { [path.basename(HOST_PATHS.backupCommand)]: renderBackupTool(), [path.basename(HOST_PATHS.restoreCommand)]: renderRestoreTool(settings) };
  return asCommand(`${renderScript('install-tools', { BIN_DIR: HOST_PATHS.bin, HOST_ID: hostId }, settings)}\n${hereDocuments('install_tool', tools)}`);
}

export function restoreOnBootCommand(mode: RestoreOnBoot, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return asCommand(renderScript('restore-on-boot', { RESTORE_ON_BOOT: typeof mode === 'string' ? mode : mode.key }, settings));
}

/** Where a host's backups go, or where a restore reads them (a lost stack's, say). */
export interface BackupLocation {
  bucket: string;
  /** Key prefix; the job treats `name` and `name/` alike. */
  prefix: string;
  region: string;
}

export interface BackupSettingsArgs {
  location: BackupLocation;
  retentionDays: number;
  /** Where restores read instead, field by field; this host's own location where unset. */
  restoreFrom?: Partial<BackupLocation>;
  /** For a host without an instance role: the access key of its own backup user (a secret). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** backup.env (HOST_PATHS.backupEnv), as load_backup_env in lib.sh reads it. */
export function backupSettings(args: BackupSettingsArgs): Record<string, string> {
  const { location, restoreFrom = {}, credentials } = args;
  return {
    BACKUP_BUCKET: location.bucket,
    BACKUP_PREFIX: location.prefix,
    BACKUP_RETENTION_DAYS: String(args.retentionDays),
    AWS_REGION: location.region,
    ...(restoreFrom.bucket !== undefined && { RESTORE_BUCKET: restoreFrom.bucket }),
    ...(restoreFrom.prefix !== undefined && { RESTORE_PREFIX: restoreFrom.prefix }),
    ...(restoreFrom.region !== undefined && { RESTORE_REGION: restoreFrom.region }),
    ...(credentials && { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }),
  };
}

/** systemd's shorthands for OnCalendar; `daily` is the backup timer's default. */
const CALENDAR_SHORTHANDS = ['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually'];
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function weekdayIndex(name: string): number {
  const lower = name.toLowerCase();
  return WEEKDAYS.findIndex((day) => lower === day || lower === day.slice(0, 3));
}

/** `Mon`, `Mon,Wed`, `Mon..Fri`: weekday names (short or full), lists and forward ranges. */
function isWeekdays(token: string): boolean {
  return token.split(',').every((item) => {
    const [from, to, ...rest] = item.split('..');
    const start = weekdayIndex(from);
    return rest.length === 0 && start >= 0 && (to === undefined || weekdayIndex(to) >= start);
  });
}

/** One field of a date or time: `*` or numbers in [min, max], with lists, `a..b` ranges and `/step` repetitions. */
function isCalendarField(field: string, min: number, max: number, decimals = false): boolean {
  const number = decimals ? /^\d{1,4}(\.\d{1,6})?$/ : /^\d{1,4}$/;
  const inRange = (text: string) => number.test(text) && Number(text) >= min && Number(text) <= max;
  return field.split(',').every((item) => {
    const match = /^(\*|[\d.]+?)(?:\.\.([\d.]+))?(?:\/(\d{1,4}))?$/.exec(item);
    if (!match) return false;
    const [, start, end, step] = match;
    return (start === '*' ? end === undefined : inRange(start)) && (end === undefined || (inRange(end) && Number(end) >= Number(start))) && (step === undefined || Number(step) > 0);
  });
}

/** `Y-M-D` or `M-D`, with `~` before the day to count from the month's end. */
function isCalendarDate(token: string): boolean {
  const tilde = token.split('~');
  if (tilde.length > 2) return false;
  const parts = tilde[0].split('-');
  const day = tilde.length === 2 ? tilde[1] : parts.pop()!;
  if (parts.length === 2 && !isCalendarField(parts.shift()!, 1970, 2199)) return false;
  return parts.length === 1 && isCalendarField(parts[0], 1, 12) && isCalendarField(day, 1, 31);
}

/** `H:M` or `H:M:S` (seconds may have decimals). */
function isCalendarTime(token: string): boolean {
  const [hour, minute, second, ...rest] = token.split(':');
  return (
    rest.length === 0 &&
    minute !== undefined &&
    isCalendarField(hour, 0, 23) &&
    isCalendarField(minute, 0, 59) &&
    (second === undefined || isCalendarField(second, 0, 59, true))
  );
}

/**
 * Whether `expression` is a systemd OnCalendar expression (systemd.time(7)): a shorthand such
 * as `daily`, or `[weekdays] [date] [time]`, optionally followed by a time zone (`UTC`,
 * `Asia/Shanghai`). Checked here because a timer with a bad one never fires, silently.
 */
export function isOnCalendar(expression: string): boolean {
  const tokens = expression.split(' ');
  if (tokens.length > 1 && /^(UTC|[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+)$/.test(tokens[tokens.length - 1])) tokens.pop();
  if (tokens.length === 1 && CALENDAR_SHORTHANDS.includes(tokens[0])) return true;
  const checks = [isWeekdays, isCalendarDate, isCalendarTime];
  let next = 0;
  for (const token of tokens) {
    while (next < checks.length && !checks[next](token)) next += 1;
    if (next === checks.length) return false;
    next += 1;
  }
  return tokens.length > 0;
}

/** The backup job's systemd units, as cloud-init writes them on an EC2 host and the timer step on a machine of yours. */
export function renderBackupUnits(schedule: string): Record<string, string> {
  if (!isOnCalendar(schedule)) throw new Error(`backup schedule ${JSON.stringify(schedule)} is not a systemd OnCalendar expression`);
  return {
    'clawdbot-backup.service': `[Unit]
Description=Back up clawdbot data to S3
Wants=network-online.target
After=network-online.target docker.service
# The job arrives with the first deployment; until then the timer fires into a no-op.
ConditionPathExists=${HOST_PATHS.backupCommand}

[Service]
Type=oneshot
EnvironmentFile=${HOST_PATHS.backupEnv}
ExecStart=${HOST_PATHS.backupCommand}
`,
    'clawdbot-backup.timer': `[Unit]
Description=Scheduled clawdbot backup

[Timer]
OnCalendar=${schedule}
RandomizedDelaySec=15m
Persistent=true

[Install]
WantedBy=timers.target
`,
  };
}

/** A machine of yours, without cloud-init: installs the backup timer (root, or sudo without a password). */
export function installBackupTimerCommand(schedule: string): string {
  return asCommand(`${renderScript('install-backup-timer', {})}\n${hereDocuments('install_unit', renderBackupUnits(schedule))}\nenable_backup_timer`);
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

/**
 * Deletion: stops the bot, proxy and Redis; keeps data, env file and releases. A host that
 * another deployment has since taken over (another `hostId`) is left alone.
 */
export function removeCommand(hostId: string): string {
  return asCommand(renderScript('remove', { HOST_ID: hostId }));
}

/**
 * A release's id: the image and everything that shapes how it runs, hashed. The same inputs
 * always give the same id, so Pulumi re-runs the steps only when one of them changed.
 */
export function releaseId(imageId: string, proxy: ReleaseProxySettings, configDir = REPO_ROOT): string {
  const hash = createHash('sha256');
  hash.update(imageId);
  for (const file of Object.values(RELEASE_FILES)) hash.update('\0').update(readFileSync(path.join(configDir, file)));
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
