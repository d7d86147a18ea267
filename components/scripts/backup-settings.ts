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

/** backup.env (HOST_PATHS.backupEnv), as load_backup_env in lib/backup.sh reads it. */
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
