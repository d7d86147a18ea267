import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_LAYOUT, HOST_PATHS } from '../../../app/src/contract';
import { installToolsCommand } from '../../../components/scripts/install-tools';
import { DEFAULT_HOST_STEP_SETTINGS, type HostStepSettings } from '../../../components/scripts/render';
import { restoreOnBootCommand } from '../../../components/scripts/restore-on-boot';
import { runOverSsh, type StepResult } from '../../../components/scripts/ssh';
import { waitForHostCommand, type Platform } from '../../../components/scripts/wait-for-host';
import { renderEnvFile, writeEnvCommand } from '../../../components/scripts/write-env';
import { NETWORK } from './environment';
import { run } from './exec';
import { E2E_IMAGES } from './images';
import type { LocalS3 } from './s3';
import type { TestHost } from './testHost';

// What the e2e files share about the stack under test: the bot's settings, the host steps the
// Deployment runs before a release, and ways to look at a host's data and at the S3 servers.

export const API_KEY = 'e2e-api-key-0123456789abcdef';
export const BOT_ENVIRONMENT = {
  CLAWDBOT_API_KEYS: API_KEY,
  CLAWDBOT_ADMIN_TOKEN: 'e2e-admin-token-0123456789abcdef',
  // The load loop runs well above the default 50 requests per second per key.
  RATE_LIMIT_QPS: '2000',
};
export const SETTINGS: HostStepSettings = { ...DEFAULT_HOST_STEP_SETTINGS, healthTimeoutSeconds: 60 };
export const PROXY = { caddyImage: E2E_IMAGES.services, redisImage: E2E_IMAGES.services };
/** The test host runs this machine's CPU. */
export const PLATFORM: Platform = process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
/** What a machine of yours is identified by (target ssh); a replaced host gets a new one. */
export const hostId = (generation: number) => `${NETWORK.hostAddress}:${NETWORK.sshPort}#${generation}`;

/** Where a path of the host (under HOST_PATHS.root) is on this machine. */
export function hostPath(host: TestHost, hostAbsolute: string): string {
  return path.join(host.rootDir, path.relative(HOST_PATHS.root, hostAbsolute));
}

/** sha256 and mode of every file under the data dir except its secrets, by relative path. */
export function dataManifest(dataDir: string): Record<string, string> {
  const manifest: Record<string, string> = {};
  const excluded = path.dirname(DATA_LAYOUT.generatedApiKey);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(dataDir, full);
      if (relative === excluded) continue;
      if (entry.isDirectory()) walk(full);
      else manifest[relative] = `${statSync(full).mode.toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
    }
  };
  walk(dataDir);
  return manifest;
}

/** The AWS CLI against a local S3 server standing for `region`. */
export function awsS3(server: LocalS3, region: string, ...args: string[]): Promise<string> {
  return run('aws', ['--region', region, '--endpoint-url', server.endpoint, ...args], {
    env: { ...process.env, AWS_SHARED_CREDENTIALS_FILE: server.credentialsFile, AWS_CONFIG_FILE: '/dev/null' },
  });
}

export interface PreparedHost {
  restoreOnBoot: StepResult;
  /** "<step> <seconds> s" per step, in order. */
  durations: string[];
}

/**
 * The Deployment's steps before the first release on a new host, in its order: readiness, the
 * backup settings (on the step's stdin, as on a machine of yours without cloud-init), the host
 * tools, and the restore on boot.
 */
export async function prepareHost(host: TestHost, generation: number, backupSettings: Record<string, string>): Promise<PreparedHost> {
  const durations: string[] = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await work();
    durations.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };
  await step('readiness', () => runOverSsh(host.ssh, waitForHostCommand(PLATFORM)));
  await step('backup settings', () => runOverSsh(host.ssh, writeEnvCommand(HOST_PATHS.backupEnv), { stdin: renderEnvFile(backupSettings) }));
  await step('host tools', () => runOverSsh(host.ssh, installToolsCommand(hostId(generation), SETTINGS)));
  const restoreOnBoot = await step('restore on boot', () => runOverSsh(host.ssh, restoreOnBootCommand('latest', SETTINGS)));
  return { restoreOnBoot, durations };
}
