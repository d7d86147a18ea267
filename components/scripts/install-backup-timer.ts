import { HOST_PATHS } from '../../app/src/contract';
import { isOnCalendar } from './on-calendar';
import { asCommand, hereDocuments, renderScript } from './render';

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
