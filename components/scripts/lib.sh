# Shared by every host step and host tool. render.ts puts it after the step's parameters and
# before the step's own body, so each rendered script is complete on its own.
#
# Layout under $CLAWDBOT_ROOT (HOST_PATHS in app/src/contract.ts):
#   releases/<id>/      compose.yaml, Caddyfile, .env (compose interpolation) of one release
#   releases/active     "<slot> <release>" that Caddy routes to
#   releases/history    "<release> <UTC time>" per activation, newest last
#   current             symlink to the active release's dir
#   caddy/              Caddyfile, hosts (clawdbot-active → the live slot), and draining while
#                       a Caddyfile reload is coming, for the proxy
#   data/               the bot's data dir (/data in the container)
#   logs/               the bot's log files (/data/logs in the container)
#   redis/              Redis's AOF and RDB files (/data in its container)
#   host-id             the deployment this host belongs to (the instance id, or host:port)

CADDY_DIR="$CLAWDBOT_ROOT/caddy"
ACTIVE_FILE="$RELEASES_DIR/active"
HISTORY_FILE="$RELEASES_DIR/history"
EDGE_PROJECT=clawdbot
# Matches stop_grace_period in app/compose.yaml; the gateway drains for at most 10 s.
DRAIN_SECONDS=15
# How long the proxy answers `Connection: close` before a reload: clients that are sending let
# go of their keep-alive connections in that time.
KEEPALIVE_DRAIN_SECONDS=2
FAILED_LOG_LINES=50
BOT=clawdbot
PROXY=clawdbot-caddy
EDGE_NETWORK=clawdbot-edge
BACKEND_NETWORK=clawdbot-backend
REDIS=clawdbot-redis
SHARED_VOLUMES=(clawdbot-caddy-data clawdbot-caddy-config)

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# One deploy, rollback or restore at a time on this host: two stacks (or a rollback and a
# `pulumi up`) aimed at the same machine must not interleave their steps. The lock is on the
# root dir itself, so that the deploy user and root (a manual restore) share it without a lock
# file that one of them could not open.
take_deploy_lock() {
  mkdir -p "$CLAWDBOT_ROOT"
  exec 9<"$CLAWDBOT_ROOT"
  flock -n 9 && return 0
  log "waiting for another deploy, rollback or restore to finish (lock on $CLAWDBOT_ROOT)"
  if ! flock -w "$LOCK_TIMEOUT_SECONDS" 9; then
    die "another deploy, rollback or restore holds the lock on $CLAWDBOT_ROOT (waited ${LOCK_TIMEOUT_SECONDS}s)"
  fi
}

# The deployment this host belongs to: the install-tools step records it, the deletion step of
# an older deployment (a replaced instance whose address moved here) checks it.
record_host_id() {
  printf '%s\n' "$1" >"$CLAWDBOT_ROOT/host-id.new"
  mv -f "$CLAWDBOT_ROOT/host-id.new" "$CLAWDBOT_ROOT/host-id"
}

recorded_host_id() {
  cat "$CLAWDBOT_ROOT/host-id" 2>/dev/null || true
}

# compose <release dir> <project> <compose args...>
compose() {
  local dir=$1 project=$2
  shift 2
  docker compose --project-directory "$dir" -p "$project" -f "$dir/compose.yaml" "$@"
}

# The networks and volumes that app/compose.yaml declares external: the edge project and the
# bot's slot projects share them. The edge network has a fixed range: the bot trusts its gateway,
# where Caddy's requests come from, for X-Forwarded-For (CLAWDBOT_TRUSTED_PROXY in compose.yaml).
ensure_shared_resources() {
  local volume gateway
  if gateway=$(docker network inspect -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' "$EDGE_NETWORK" 2>/dev/null); then
    [ "${gateway% }" = "$EDGE_GATEWAY" ] ||
      die "network $EDGE_NETWORK has gateway ${gateway% }, not $EDGE_GATEWAY; remove it (docker network rm $EDGE_NETWORK) and deploy again"
  else
    docker network create --subnet "$EDGE_SUBNET" --gateway "$EDGE_GATEWAY" "$EDGE_NETWORK" >/dev/null
  fi
  docker network inspect "$BACKEND_NETWORK" >/dev/null 2>&1 || docker network create --internal "$BACKEND_NETWORK" >/dev/null
  for volume in "${SHARED_VOLUMES[@]}"; do
    docker volume inspect "$volume" >/dev/null 2>&1 || docker volume create "$volume" >/dev/null
  done
}

# The bot runs as its image's user and the data and log dirs are bind mounts: hand them to that
# user (restored or freshly created files belong to whoever ran the step).
ensure_data_owner() {
  local image=$1 user
  mkdir -p "$DATA_DIR" "$LOGS_DIR"
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  [ -n "$user" ] || return 0
  docker run --rm --network none --user 0:0 --entrypoint find -v "$DATA_DIR:/data" -v "$LOGS_DIR:/logs" "$image" \
    /data /logs ! -user "${user%%:*}" -exec chown "$user" {} +
}

# Containers of the bot slot project clawdbot-<slot>, running or not.
slot_containers() {
  docker ps -aq --filter "label=com.docker.compose.project=$EDGE_PROJECT-$1"
}

remove_slot() {
  local ids
  ids=$(slot_containers "$1")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one argument per container id
    docker rm -f $ids >/dev/null
  fi
}

# Where each slot publishes (app/compose.yaml); app/Caddyfile reaches the live one through
# the name clawdbot-active.
slot_address() {
  case $1 in
    blue) echo 127.0.0.2 ;;
    green) echo 127.0.0.3 ;;
  esac
}

# Waits until the slot answers GET /health with exactly {"status":"healthy"}. Fails early when
# the container exits or restarts (a crash loop never gets healthy).
wait_healthy() {
  local container=$1 address=$2 deadline=$((SECONDS + HEALTH_TIMEOUT_SECONDS)) state
  while :; do
    state=$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$container" 2>/dev/null) || state=missing
    case $state in
      "running 0" | "created 0") ;;
      *)
        log "$container is ${state% *} (restarts: ${state#* })"
        return 1
        ;;
    esac
    if [ "$(curl -fsS -m 2 "http://$address:$SLOT_GATEWAY_PORT/health" 2>/dev/null)" = '{"status":"healthy"}' ]; then
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$container gave no healthy answer within ${HEALTH_TIMEOUT_SECONDS}s"
      return 1
    fi
    sleep 1
  done
}

# Points clawdbot-active at a slot. The file is bind-mounted as the proxy's /etc/hosts, so it
# is rewritten in place (a new inode would not reach the container).
write_proxy_hosts() {
  printf '127.0.0.1 localhost\n%s clawdbot-active\n' "$(slot_address "$1")" >"$CADDY_DIR/hosts"
}

install_caddyfile() {
  install -m 0644 "$1/Caddyfile" "$CADDY_DIR/.Caddyfile.new"
  mv -f "$CADDY_DIR/.Caddyfile.new" "$CADDY_DIR/Caddyfile"
}

# Only when a release brings a changed Caddyfile: a graceful reload. Requests in flight finish
# on the old config, but the reload closes idle keep-alive connections, and a request sent on
# one at that instant would fail; so the proxy first answers `Connection: close` for a while
# (app/Caddyfile's @draining) and clients move to connections that nothing closes. Puts the old
# file back if Caddy refuses the new one.
update_caddyfile() {
  local dir=$1 status=0
  # One left by a deploy killed mid-reload would keep every connection from being reused.
  rm -f "$CADDY_DIR/draining"
  cmp -s "$dir/Caddyfile" "$CADDY_DIR/Caddyfile" && return 0
  cp -p "$CADDY_DIR/Caddyfile" "$CADDY_DIR/.Caddyfile.prev"
  install_caddyfile "$dir"
  touch "$CADDY_DIR/draining"
  sleep "$KEEPALIVE_DRAIN_SECONDS"
  if ! docker exec "$PROXY" caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile --address unix//config/admin.sock; then
    mv -f "$CADDY_DIR/.Caddyfile.prev" "$CADDY_DIR/Caddyfile"
    log "the proxy refused the Caddyfile of release $(basename "$dir") and keeps its own"
    status=1
  fi
  rm -f "$CADDY_DIR/draining" "$CADDY_DIR/.Caddyfile.prev"
  return "$status"
}

# Switches the proxy to a slot and waits until it answers from there: Caddy re-resolves
# clawdbot-active every second (its resolver may cache the hosts file for up to 5 s).
switch_proxy() {
  local slot=$1 previous=$2 address deadline=$((SECONDS + 30))
  address=$(slot_address "$slot")
  write_proxy_hosts "$slot"
  until curl -sS -m 2 -o /dev/null -D - "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null |
    tr -d '\r' | grep -qix "x-clawdbot-upstream: $address"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      [ -z "$previous" ] || write_proxy_hosts "$previous"
      return 1
    fi
    sleep 0.5
  done
  # The gateway's lookup refreshes on its own one-second timer.
  sleep 2
}

record_history() {
  local release=$1 tmp
  tmp=$(mktemp "$HISTORY_FILE.XXXXXX")
  { grep -v "^$release " "$HISTORY_FILE" 2>/dev/null || true; } >"$tmp"
  printf '%s %s\n' "$release" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$tmp"
  mv -f "$tmp" "$HISTORY_FILE"
}

# Keeps the newest $KEEP_RELEASES activated releases (and the active one); removes every other
# release dir, including releases that never went live, with its image tag.
prune_releases() {
  local keep dir release
  keep=$(tail -n "$KEEP_RELEASES" "$HISTORY_FILE" | cut -d' ' -f1)
  for dir in "$RELEASES_DIR"/*/; do
    [ -d "$dir" ] || continue
    release=$(basename "$dir")
    if ! printf '%s\n' "$keep" | grep -qx "$release"; then
      log "pruning release $release"
      rm -rf "$dir"
      docker image rm "$BOT:$release" >/dev/null 2>&1 || true
    fi
  done
  tail -n "$KEEP_RELEASES" "$HISTORY_FILE" >"$HISTORY_FILE.new"
  mv -f "$HISTORY_FILE.new" "$HISTORY_FILE"
}

# Starts the release beside the serving one, waits for its health, switches the proxy to it,
# then drains and removes the old one. The old release serves until the switch; when the new
# one fails, the old one keeps serving and this exits non-zero with the new one's last logs.
activate_release() {
  local release=$1 dir="$RELEASES_DIR/$1" image="$BOT:$1" active_slot="" active_release="" slot serving=""
  [ -f "$dir/compose.yaml" ] || die "release $release is not on this host (kept releases: $RELEASES_DIR)"
  docker image inspect "$image" >/dev/null 2>&1 || die "the image of release $release ($image) is not on this host"
  if [ -f "$ACTIVE_FILE" ]; then read -r active_slot active_release <"$ACTIVE_FILE"; fi
  if [ "$active_slot" = blue ]; then slot=green; else slot=blue; fi

  mkdir -p "$CADDY_DIR" "$REDIS_DIR"
  ensure_shared_resources
  ensure_data_owner "$image"
  CLAWDBOT_SLOT_ADDRESS=$(slot_address "$slot")
  export CLAWDBOT_IMAGE="$image" CLAWDBOT_SLOT_ADDRESS CLAWDBOT_TRUSTED_PROXY="$EDGE_GATEWAY"
  if [ ! -f "$CADDY_DIR/Caddyfile" ] || [ ! -f "$CADDY_DIR/hosts" ]; then
    install_caddyfile "$dir"
    write_proxy_hosts "$slot"
  fi
  # Unchanged edge services are left running; compose recreates them only when their own
  # definition changed.
  compose "$dir" "$EDGE_PROJECT" up -d --no-deps redis caddy

  remove_slot "$slot"
  if [ -n "$active_slot" ]; then serving=$(slot_containers "$active_slot"); fi
  # The serving container gives up the name "clawdbot" (and keeps serving) for the new one.
  if [ -n "$serving" ]; then docker rename "$serving" "$BOT-previous"; fi

  log "starting release $release in slot $slot (serving: ${active_release:-none})"
  if ! compose "$dir" "$EDGE_PROJECT-$slot" up -d --no-deps "$BOT" || ! wait_healthy "$BOT" "$CLAWDBOT_SLOT_ADDRESS"; then
    log "release $release is not healthy; its last $FAILED_LOG_LINES log lines:"
    docker logs --tail "$FAILED_LOG_LINES" "$BOT" 2>&1 || true
    remove_slot "$slot"
    if [ -n "$serving" ]; then docker rename "$serving" "$BOT"; fi
    die "release $release failed its health check; ${active_release:-nothing} keeps serving"
  fi

  if ! update_caddyfile "$dir" || ! switch_proxy "$slot" "$active_slot"; then
    remove_slot "$slot"
    if [ -n "$serving" ]; then docker rename "$serving" "$BOT"; fi
    die "the proxy did not switch to release $release; ${active_release:-nothing} keeps serving"
  fi
  printf '%s %s\n' "$slot" "$release" >"$ACTIVE_FILE.new"
  mv -f "$ACTIVE_FILE.new" "$ACTIVE_FILE"
  ln -sfn "$dir" "$CLAWDBOT_ROOT/current"

  if [ -n "$serving" ]; then
    log "draining ${active_release:-the old release}"
    docker stop -t "$DRAIN_SECONDS" "$serving" >/dev/null
    docker rm "$serving" >/dev/null
  fi
  record_history "$release"
  prune_releases
  log "release $release is live in slot $slot"
}

# --- backups ---------------------------------------------------------------------------------
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
