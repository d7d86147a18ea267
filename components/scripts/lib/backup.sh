# Backups to S3 and restores from them. Rendered after lib/host.sh and lib/release.sh (render.ts).
#
# Archives live at s3://$BACKUP_BUCKET/$BACKUP_PREFIX/YYYY/MM/DD/clawdbot-YYYYMMDDTHHMMSSZ.tar.gz
# and hold data/ (the data dir without its secrets), redis/ (Redis's files) and config/ (the live
# release's compose.yaml, Caddyfile and .env). The settings come from $BACKUP_ENV, written by the
# deployment; the credentials from the instance role (or the env file's key on a machine of yours). RESTORE_BUCKET, RESTORE_PREFIX and RESTORE_REGION
# (defaults: this host's own) name where restores read from, e.g. the backups of a stack that
# was lost, in another region.

load_backup_env() {
  if [ -f "$BACKUP_ENV" ]; then
    set -a
    # shellcheck source=/dev/null
    . "$BACKUP_ENV"
    set +a
  fi
  local key
  for key in BACKUP_BUCKET AWS_REGION BACKUP_RETENTION_DAYS; do
    [ -n "${!key:-}" ] || die "$key is not set (in $BACKUP_ENV)"
  done
  BACKUP_PREFIX=${BACKUP_PREFIX:-}
  BACKUP_PREFIX=${BACKUP_PREFIX%/}
  RESTORE_BUCKET=${RESTORE_BUCKET:-$BACKUP_BUCKET}
  RESTORE_PREFIX=${RESTORE_PREFIX-$BACKUP_PREFIX}
  RESTORE_PREFIX=${RESTORE_PREFIX%/}
  RESTORE_REGION=${RESTORE_REGION:-$AWS_REGION}
  use_backup_location "$BACKUP_BUCKET" "$BACKUP_PREFIX" "$AWS_REGION"
  # The snap's bin dir is not on systemd's PATH.
  PATH="$PATH:/snap/bin"
}

# Where the functions below look: this host's backups (the default) or the restore source.
use_backup_location() {
  S3_BUCKET=$1
  S3_PREFIX=$2
  S3_REGION=$3
}

use_restore_source() {
  use_backup_location "$RESTORE_BUCKET" "$RESTORE_PREFIX" "$RESTORE_REGION"
}

# The AWS CLI in the location's region. BACKUP_S3_ENDPOINT exists for tests against a local
# S3-compatible server.
aws_s3() {
  local endpoint=()
  if [ -n "${BACKUP_S3_ENDPOINT:-}" ]; then endpoint=(--endpoint-url "$BACKUP_S3_ENDPOINT"); fi
  aws --region "$S3_REGION" "${endpoint[@]}" "$@"
}

# Keys of all backups, oldest first (the dated names sort by time).
# Call it as an assignment (keys=$(list_backups)) so that a failed listing stops the caller.
list_backups() {
  local keys
  keys=$(aws_s3 s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "${S3_PREFIX:+$S3_PREFIX/}" \
    --query 'Contents[].Key' --output text) || die "cannot list s3://$S3_BUCKET/$S3_PREFIX"
  printf '%s\n' "$keys" | tr '\t' '\n' | { grep -E '(^|/)clawdbot-[0-9]{8}T[0-9]{6}Z\.tar\.gz$' || true; } | sort
}

# "latest" or a key → the key; fails when there is no such backup. Call it as an assignment.
resolve_backup() {
  local wanted=$1 key
  if [ "$wanted" = latest ]; then
    key=$(list_backups)
    key=$(printf '%s\n' "$key" | tail -n 1)
    [ -n "$key" ] || die "no backup under s3://$S3_BUCKET/$S3_PREFIX"
  else
    key=$wanted
    aws_s3 s3api head-object --bucket "$S3_BUCKET" --key "$key" >/dev/null 2>&1 ||
      die "no backup s3://$S3_BUCKET/$key"
  fi
  printf '%s\n' "$key"
}

# The object's size and the sha256 recorded at upload, tab-separated.
backup_fingerprint() {
  aws_s3 s3api head-object --bucket "$S3_BUCKET" --key "$1" \
    --query '[ContentLength, Metadata.sha256]' --output text
}

file_fingerprint() {
  printf '%s\t%s\n' "$(stat -c %s "$1")" "$(sha256sum "$1" | cut -d' ' -f1)"
}

# Redis's files as of now into <dir>: a synchronous SAVE first when Redis runs, so that the RDB
# is complete; the AOF (what Redis loads at start) is flushed every second.
snapshot_redis() {
  if docker ps -q --filter "name=^$REDIS\$" | grep -q .; then
    docker exec "$REDIS" redis-cli SAVE >/dev/null || die "redis-cli SAVE failed in $REDIS"
  fi
  mkdir -p "$1"
  if [ -d "$REDIS_DIR" ]; then cp -a "$REDIS_DIR/." "$1/"; fi
}

# Replaces Redis's dir with <dir>, Redis stopped meanwhile; the previous files are kept beside it.
restore_redis() {
  local from=$1 stamp=$2 running=""
  if docker ps -q --filter "name=^$REDIS\$" | grep -q .; then
    running=yes
    docker stop "$REDIS" >/dev/null
  fi
  if [ -d "$REDIS_DIR" ] && [ -n "$(ls -A "$REDIS_DIR")" ]; then mv "$REDIS_DIR" "$REDIS_DIR.before-restore-$stamp"; else rm -rf "$REDIS_DIR"; fi
  mv "$from" "$REDIS_DIR"
  if [ -n "$running" ]; then docker start "$REDIS" >/dev/null; fi
  log "restored Redis's files into $REDIS_DIR"
}

# Replaces the data dir with the backup's. A non-empty data dir is moved aside, never deleted;
# the bot is stopped for the swap and started again if it was running.
restore_backup() {
  local key=$1 work running="" stamp
  mkdir -p "$CLAWDBOT_ROOT"
  work=$(mktemp -d "$CLAWDBOT_ROOT/.restore.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  log "downloading s3://$S3_BUCKET/$key"
  aws_s3 s3 cp --only-show-errors "s3://$S3_BUCKET/$key" "$work/backup.tar.gz"
  [ "$(file_fingerprint "$work/backup.tar.gz")" = "$(backup_fingerprint "$key")" ] ||
    die "s3://$S3_BUCKET/$key does not match the size and sha256 recorded at upload"
  mkdir "$work/unpacked"
  tar --extract --gzip --file "$work/backup.tar.gz" --directory "$work/unpacked" --numeric-owner --same-permissions
  [ -d "$work/unpacked/data" ] || die "s3://$S3_BUCKET/$key is not a clawdbot backup (no data/)"

  if docker ps -q --filter "name=^$BOT\$" | grep -q .; then
    running=yes
    docker stop -t "$DRAIN_SECONDS" "$BOT" >/dev/null
  fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  if [ -d "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR")" ]; then
    mv "$DATA_DIR" "$DATA_DIR.before-restore-$stamp"
    log "the previous data is in $DATA_DIR.before-restore-$stamp"
    # Secrets are never in a backup: keep this host's (e.g. a generated API key).
    if [ -d "$DATA_DIR.before-restore-$stamp/$EXCLUDED_DATA" ]; then
      cp -a "$DATA_DIR.before-restore-$stamp/$EXCLUDED_DATA" "$work/unpacked/data/"
    fi
  else
    rm -rf "$DATA_DIR"
  fi
  mv "$work/unpacked/data" "$DATA_DIR"
  if [ -d "$work/unpacked/redis" ]; then restore_redis "$work/unpacked/redis" "$stamp"; fi
  rm -rf "$CLAWDBOT_ROOT/restored-config"
  if [ -d "$work/unpacked/config" ]; then mv "$work/unpacked/config" "$CLAWDBOT_ROOT/restored-config"; fi
  if [ -n "$running" ]; then
    ensure_data_owner "$(docker inspect -f '{{.Config.Image}}' "$BOT")"
    docker start "$BOT" >/dev/null
    log "restarted $BOT"
  fi
  log "restored s3://$S3_BUCKET/$key into $DATA_DIR"
}
