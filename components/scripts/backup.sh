# The backup job (HOST_PATHS.backupCommand), run daily by clawdbot-backup.timer as root with
# the instance role: archive, upload under a dated key, verify the upload, prune by retention.

load_backup_env
exec 8>>"$CLAWDBOT_ROOT/.backup.lock"
flock -n 8 || die "another backup is running"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
key="${BACKUP_PREFIX:+$BACKUP_PREFIX/}$(date -u +%Y/%m/%d)/clawdbot-$stamp.tar.gz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/config"
if [ -d "$CLAWDBOT_ROOT/current" ]; then
  for file in compose.yaml Caddyfile .env; do
    if [ -f "$CLAWDBOT_ROOT/current/$file" ]; then cp "$CLAWDBOT_ROOT/current/$file" "$work/config/"; fi
  done
fi
[ -d "$DATA_DIR" ] || die "no data dir at $DATA_DIR"
# Sessions, the IM inbox and its dedup keys live in Redis.
snapshot_redis "$work/redis"
# The bot keeps writing while we read: a file that grew meanwhile is archived as read (GNU tar
# exits 1 for that), anything worse fails the job.
status=0
tar --create --gzip --file "$work/backup.tar.gz" --numeric-owner --warning=no-file-changed \
  --exclude="./$EXCLUDED_DATA" --transform 's,^\.,data,' -C "$DATA_DIR" . -C "$work" config redis || status=$?
[ "$status" -le 1 ] || die "tar failed (exit $status)"

fingerprint=$(file_fingerprint "$work/backup.tar.gz")
aws_s3 s3 cp --only-show-errors "$work/backup.tar.gz" "s3://$S3_BUCKET/$key" --metadata "sha256=${fingerprint#*$'\t'}"
[ "$(backup_fingerprint "$key")" = "$fingerprint" ] || die "the upload of s3://$S3_BUCKET/$key does not match the archive"
log "backed up to s3://$S3_BUCKET/$key (${fingerprint%%$'\t'*} bytes)"

# Retention: drop backups older than BACKUP_RETENTION_DAYS, but never the newest one.
cutoff=$(date -u -d "-$BACKUP_RETENTION_DAYS days" +%Y%m%dT%H%M%SZ)
backups=$(list_backups)
newest=$(printf '%s\n' "$backups" | tail -n 1)
printf '%s\n' "$backups" | while read -r old; do
  [ -n "$old" ] || continue
  old_stamp=${old##*clawdbot-}
  old_stamp=${old_stamp%.tar.gz}
  if [ "$old" != "$newest" ] && [[ "$old_stamp" < "$cutoff" ]]; then
    aws_s3 s3 rm --only-show-errors "s3://$S3_BUCKET/$old"
    log "pruned s3://$S3_BUCKET/$old"
  fi
done
