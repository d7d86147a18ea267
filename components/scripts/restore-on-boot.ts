import { DEFAULT_HOST_STEP_SETTINGS, asCommand, renderScript, type HostStepSettings } from './render';

/** What the restore-on-boot step does on a fresh host: restore the newest backup, a named key, or nothing. */
export type RestoreOnBoot = 'latest' | 'none' | { key: string };

export function restoreOnBootCommand(mode: RestoreOnBoot, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return asCommand(renderScript('restore-on-boot', { RESTORE_ON_BOOT: typeof mode === 'string' ? mode : mode.key }, settings));
}
