# Blue/green releases: the slots, their health, the proxy's switch between them, activation,
# rollback's history and pruning. Rendered after lib/host.sh (render.ts).

# How long the proxy answers `Connection: close` before a reload: clients that are sending let
# go of their keep-alive connections in that time.
KEEPALIVE_DRAIN_SECONDS=2
FAILED_LOG_LINES=50

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

