import type { RestoreSource } from '../../components/shared/backupAccess';
import { isOnCalendar } from '../../components/scripts/on-calendar';
import type { ConfigReader, Environment } from './reader';
import type { Target } from './target';

/** The stack's backups: always on aws; on target ssh only with targetBackups. */
export interface BackupsConfig {
  retentionDays: number;
  encryption: 'sse-s3' | 'kms';
  protect: boolean;
  /** systemd OnCalendar expression of the backup timer. */
  schedule: string;
  restoreFrom?: RestoreSource;
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const RESTORE_SOURCE_KEYS = ['restoreFromBucket', 'restoreFromPrefix', 'restoreFromRegion'] as const;

/** Undefined on a target without backups, where a restore source is refused. */
export function readBackups(config: ConfigReader, target: Target, environment: Environment): BackupsConfig | undefined {
  if (target.kind === 'aws' || config.boolean('targetBackups')) return readBackupSettings(config, environment);
  for (const key of RESTORE_SOURCE_KEYS) {
    if (config.optionalString(key) !== undefined) config.fail(key, 'needs backups: on target ssh, set targetBackups to true');
  }
  return undefined;
}

function readBackupSettings(config: ConfigReader, environment: Environment): BackupsConfig {
  const schedule = config.string('backupSchedule');
  if (!isOnCalendar(schedule)) {
    config.fail('backupSchedule', `${JSON.stringify(schedule)} is not a systemd OnCalendar expression (e.g. daily, hourly, *-*-* 03:00:00, Mon..Fri 01:30)`);
  }
  return {
    retentionDays: config.integer('backupRetentionDays', 1, 3650),
    encryption: config.oneOf('backupEncryption', ['sse-s3', 'kms']),
    protect: environment === 'prod',
    schedule,
    restoreFrom: readRestoreSource(config),
  };
}

function readRestoreSource(config: ConfigReader): RestoreSource | undefined {
  const prefix = config.optionalString('restoreFromPrefix')?.replace(/\/+$/, '');
  if (prefix !== undefined && (prefix === '' || /^\/|\s/.test(prefix))) {
    config.fail('restoreFromPrefix', 'is not a key prefix (e.g. clawdbot-prod: the lost stack\'s <project>-<stack>)');
  }
  const source: RestoreSource = {
    bucket: config.optionalMatching('restoreFromBucket', S3_BUCKET, 'an S3 bucket name'),
    prefix,
    region: config.optionalMatching('restoreFromRegion', AWS_REGION, 'an AWS region (e.g. ap-southeast-1)'),
  };
  return Object.values(source).some((value) => value !== undefined) ? source : undefined;
}
