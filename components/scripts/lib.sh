# Shared by every host step and host tool. render.ts puts it after the step's parameters and
# before the step's own body, so each rendered script is complete on its own.
#
# Layout under $CLAWDBOT_ROOT (HOST_PATHS in app/src/contract.ts):
#   releases/<id>/      compose.yaml, Caddyfile, .env (compose interpolation) of one release
#   releases/active     "<slot> <release>" that Caddy routes to
#   releases/history    "<release> <UTC time>" per activation, newest last
#   current             symlink to the active release's dir
#   caddy/              Caddyfile + upstream.caddy, mounted into the proxy at /etc/caddy
#   data/               the bot's data dir (/data in the container)

CADDY_DIR="$CLAWDBOT_ROOT/caddy"
ACTIVE_FILE="$RELEASES_DIR/active"
HISTORY_FILE="$RELEASES_DIR/history"
DEPLOY_LOCK="$CLAWDBOT_ROOT/.deploy.lock"
BACKUP_ENV="$CLAWDBOT_ROOT/backup.env"
EDGE_PROJECT=clawdbot
BOT=clawdbot
PROXY=clawdbot-caddy
EDGE_NETWORK=clawdbot-edge
BACKEND_NETWORK=clawdbot-backend

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# One deploy, rollback or restore at a time on this host: two stacks (or a rollback and a
# `pulumi up`) aimed at the same machine must not interleave their steps.
take_deploy_lock() {
  mkdir -p "$CLAWDBOT_ROOT"
  exec 9>>"$DEPLOY_LOCK"
  if ! flock -w "$LOCK_TIMEOUT_SECONDS" 9; then
    die "another deploy, rollback or restore holds $DEPLOY_LOCK (waited ${LOCK_TIMEOUT_SECONDS}s)"
  fi
}

# compose <release dir> <project> <compose args...>
compose() {
  local dir=$1 project=$2
  shift 2
  docker compose --project-directory "$dir" -p "$project" -f "$dir/compose.yaml" "$@"
}

ensure_networks() {
  docker network inspect "$EDGE_NETWORK" >/dev/null 2>&1 || docker network create "$EDGE_NETWORK" >/dev/null
  docker network inspect "$BACKEND_NETWORK" >/dev/null 2>&1 || docker network create --internal "$BACKEND_NETWORK" >/dev/null
}

# The bot runs as its image's user and the data dir is a bind mount: hand it to that user
# (restored or freshly created files belong to whoever ran the step).
ensure_data_owner() {
  local image=$1 user
  mkdir -p "$DATA_DIR"
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  [ -n "$user" ] || return 0
  docker run --rm --network none --user 0:0 --entrypoint find -v "$DATA_DIR:/data" "$image" \
    /data ! -user "${user%%:*}" -exec chown "$user" {} +
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

# Waits until the container answers GET /health with exactly {"status":"healthy"} on the
# proxy's network. Fails early when it exits or restarts (a crash loop never gets healthy).
wait_healthy() {
  local container=$1 deadline=$((SECONDS + HEALTH_TIMEOUT_SECONDS)) state ip
  while :; do
    state=$(docker inspect -f '{{.State.Status}} {{.RestartCount}}' "$container" 2>/dev/null) || state=missing
    case $state in
      "running 0" | "created 0") ;;
      *)
        log "$container is ${state% *} (restarts: ${state#* })"
        return 1
        ;;
    esac
    ip=$(docker inspect -f "{{with index .NetworkSettings.Networks \"$EDGE_NETWORK\"}}{{.IPAddress}}{{end}}" "$container")
    if [ -n "$ip" ] && [ "$(curl -fsS -m 2 "http://$ip:$GATEWAY_PORT/health" 2>/dev/null)" = '{"status":"healthy"}' ]; then
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$container gave no healthy answer within ${HEALTH_TIMEOUT_SECONDS}s"
      return 1
    fi
    sleep 1
  done
}

# Points Caddy at a slot. The snippets are the ones app/Caddyfile imports; the slot's name is a
# network alias of the bot container (app/compose.yaml).
write_caddy_upstream() {
  local slot=$1 tmp
  tmp=$(mktemp "$CADDY_DIR/.upstream.XXXXXX")
  cat >"$tmp" <<CADDY
(clawdbot_gateway) {
	reverse_proxy clawdbot-$slot:$GATEWAY_PORT {
		# Rides out a restart of the bot container instead of answering 502 at once.
		lb_try_duration 10s
	}
}
(clawdbot_metrics) {
	reverse_proxy clawdbot-$slot:$METRICS_PORT
}
CADDY
  chmod 0644 "$tmp"
  mv -f "$tmp" "$CADDY_DIR/upstream.caddy"
}

install_caddyfile() {
  install -m 0644 "$1/Caddyfile" "$CADDY_DIR/.Caddyfile.new"
  mv -f "$CADDY_DIR/.Caddyfile.new" "$CADDY_DIR/Caddyfile"
}

# A graceful reload: Caddy finishes in-flight requests on the old config.
reload_proxy() {
  docker exec "$PROXY" caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile
}

# Switches Caddy to the release's Caddyfile and the slot; puts the old config back if Caddy
# refuses the new one, so a later restart of the proxy still loads a good config.
switch_proxy() {
  local dir=$1 slot=$2
  cp -p "$CADDY_DIR/Caddyfile" "$CADDY_DIR/.Caddyfile.prev"
  cp -p "$CADDY_DIR/upstream.caddy" "$CADDY_DIR/.upstream.prev"
  install_caddyfile "$dir"
  write_caddy_upstream "$slot"
  if ! reload_proxy; then
    mv -f "$CADDY_DIR/.Caddyfile.prev" "$CADDY_DIR/Caddyfile"
    mv -f "$CADDY_DIR/.upstream.prev" "$CADDY_DIR/upstream.caddy"
    return 1
  fi
  rm -f "$CADDY_DIR/.Caddyfile.prev" "$CADDY_DIR/.upstream.prev"
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

  mkdir -p "$CADDY_DIR"
  ensure_networks
  ensure_data_owner "$image"
  export CLAWDBOT_IMAGE="$image" CLAWDBOT_SLOT="$slot"
  if [ ! -f "$CADDY_DIR/upstream.caddy" ]; then
    install_caddyfile "$dir"
    write_caddy_upstream "$slot"
  fi
  # Unchanged edge services are left running; compose recreates them only when their own
  # definition changed.
  compose "$dir" "$EDGE_PROJECT" up -d --no-deps redis caddy

  remove_slot "$slot"
  if [ -n "$active_slot" ]; then serving=$(slot_containers "$active_slot"); fi
  # The serving container gives up the name "clawdbot" (and keeps serving) for the new one.
  if [ -n "$serving" ]; then docker rename "$serving" "$BOT-previous"; fi

  log "starting release $release in slot $slot (serving: ${active_release:-none})"
  if ! compose "$dir" "$EDGE_PROJECT-$slot" up -d --no-deps "$BOT" || ! wait_healthy "$BOT"; then
    log "release $release is not healthy; its last $FAILED_LOG_LINES log lines:"
    docker logs --tail "$FAILED_LOG_LINES" "$BOT" 2>&1 || true
    remove_slot "$slot"
    if [ -n "$serving" ]; then docker rename "$serving" "$BOT"; fi
    die "release $release failed its health check; ${active_release:-nothing} keeps serving"
  fi

  if ! switch_proxy "$dir" "$slot"; then
    remove_slot "$slot"
    if [ -n "$serving" ]; then docker rename "$serving" "$BOT"; fi
    die "the proxy refused the config of release $release; ${active_release:-nothing} keeps serving"
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
