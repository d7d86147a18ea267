# The host's layout and names, logging, the deploy lock and compose: what every host step and
# host tool needs. render.ts puts lib/host.sh, lib/release.sh and lib/backup.sh, in that order,
# after the step's parameters and before the step's own body, so each rendered script is
# complete on its own.
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

