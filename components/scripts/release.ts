import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_HOST_STEP_SETTINGS, asCommand, renderScript, REPO_ROOT, type HostStepSettings } from './render';

// The steps that change what runs on the host: activate a release, roll back to a kept one,
// stop everything (the deletion step).

/**
 * The app's files that make up a release besides its image, relative to the repository root,
 * where Pulumi runs the program and its providers: plans and previews show the same paths on
 * every machine.
 */
export const RELEASE_FILES = {
  compose: 'app/compose.yaml',
  caddyfile: 'app/Caddyfile',
} as const;

/** The proxy settings of a release, kept with it (compose's .env in the release dir). */
export interface ReleaseProxySettings {
  /** The CNAME Caddy gets a certificate for; "localhost" (Caddy's internal CA) when unset. */
  domain?: string;
  /** Registry mirrors for hosts that cannot reach Docker Hub. */
  caddyImage?: string;
  redisImage?: string;
}

/** Activates a shipped release with zero downtime (activate_release in lib/release.sh). */
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
