# Restore on boot: on a fresh host, before the bot first starts, restore per RESTORE_ON_BOOT
# (latest | <key> | none). Runs once per host; never over existing data.

marker="$CLAWDBOT_ROOT/.restore-on-boot.done"
if [ -f "$marker" ]; then
  log "restore on boot already ran on this host"
  exit 0
fi
if [ "$RESTORE_ON_BOOT" = none ]; then
  log "restore on boot is off"
elif [ -d "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
  log "$DATA_DIR already holds data; not restoring over it"
else
  load_backup_env
  use_restore_source
  take_deploy_lock
  backups=$(list_backups)
  if [ "$RESTORE_ON_BOOT" = latest ] && [ -z "$backups" ]; then
    log "no backup yet under s3://$S3_BUCKET/$S3_PREFIX; starting with empty data"
  else
    key=$(resolve_backup "$RESTORE_ON_BOOT")
    restore_backup "$key"
  fi
fi
mkdir -p "$CLAWDBOT_ROOT"
touch "$marker"
