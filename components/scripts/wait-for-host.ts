import { asCommand, renderScript } from './render';

/** The host's CPU as `uname -m` names it, per Docker platform: readiness refuses a host of another. */
const MACHINE_OF_PLATFORM = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64' } as const;
export type Platform = keyof typeof MACHINE_OF_PLATFORM;

/** Readiness: cloud-init done (where there is one), the host's CPU the image's, then Docker and compose. */
export function waitForHostCommand(platform: Platform, dockerTimeoutSeconds = 600): string {
  return asCommand(renderScript('wait-for-host', { PLATFORM: platform, MACHINE: MACHINE_OF_PLATFORM[platform], DOCKER_TIMEOUT_SECONDS: dockerTimeoutSeconds }));
}
