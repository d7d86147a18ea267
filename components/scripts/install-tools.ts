import * as path from 'node:path';
import { HOST_PATHS } from '../../app/src/contract';
import { DEFAULT_HOST_STEP_SETTINGS, asCommand, hereDocuments, renderScript, type HostStepSettings } from './render';

/** The backup job, as installed at HOST_PATHS.backupCommand. */
export function renderBackupTool(): string {
  return renderScript('backup', {});
}

/** The restore command, as installed at HOST_PATHS.restoreCommand: `restore [latest|<key>]`. */
export function renderRestoreTool(settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  return renderScript('restore', {}, settings);
}

/**
 * Installs the backup job and the restore command into HOST_PATHS.bin, and records which
 * deployment the host belongs to (`hostId`): the deletion step of an older one leaves it alone.
 */
export function installToolsCommand(hostId: string, settings: HostStepSettings = DEFAULT_HOST_STEP_SETTINGS): string {
  const tools = { [path.basename(HOST_PATHS.backupCommand)]: renderBackupTool(), [path.basename(HOST_PATHS.restoreCommand)]: renderRestoreTool(settings) };
  return asCommand(`${renderScript('install-tools', { BIN_DIR: HOST_PATHS.bin, HOST_ID: hostId }, settings)}\n${hereDocuments('install_tool', tools)}`);
}
