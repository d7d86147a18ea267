import type { RestoreSource } from '../../components/shared/backupAccess';
import { isOnCalendar } from '../../components/scripts/on-calendar';
import { ConfigReader, type Environment } from './reader';

/** The stack's backups: always on aws; on target ssh only with targetBackups. */
export interface BackupsConfig {
  retentionDays: number;
  encryption: 'sse-s3' | 'kms';
  protect: boolean;
  /** systemd OnCalendar expression of the backup timer. */
  schedule: string;
  restoreFrom?: RestoreSource;
  /** The second region that holds a replica of every backup and snapshot; required in prod. */
  replicaRegion?: string;
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const RESTORE_SOURCE_KEYS = ['restoreFromBucket', 'restoreFromPrefix', 'restoreFromRegion'] as const;

/** Undefined on a target without backups, where a restore source is refused. `onAws`: the stack builds where the bot runs, and always backs up. */
export function readBackups(config: ConfigReader, onAws: boolean, environment: Environment): BackupsConfig | undefined {
  if (onAws || config.boolean('targetBackups')) return readBackupSettings(config, environment);
  for (const key of RESTORE_SOURCE_KEYS) {
    if (config.optionalString(key) !== undefined) config.fail(key, 'needs backups: on target ssh, set targetBackups to true');
  }
  return undefined;
}

function readReplicaRegion(config: ConfigReader, environment: Environment): string | undefined {
  const region = new ConfigReader('aws').string('region');
  const replicaRegion = config.optionalMatching('backupReplicaRegion', AWS_REGION, 'an AWS region (e.g. ap-northeast-1)');
  if (replicaRegion === undefined && environment === 'prod') {
    config.fail('backupReplicaRegion', `prod replicates its backups to a second region so that losing ${region} loses none; name one (e.g. ap-northeast-1)`);
  }
  if (replicaRegion === region) config.fail('backupReplicaRegion', `is the stack's own region (aws:region ${region}); a replica there is lost with it: name another region`);
  return replicaRegion;
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
    replicaRegion: readReplicaRegion(config, environment),
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
