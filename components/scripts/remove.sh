# Deletion of the deployment: stops the bot and its proxy and Redis. Keeps the data dir, the
# env file and the kept releases. Tolerates a host where nothing (or no docker) is left, and
# leaves alone a host that another deployment has taken over since (a replaced instance whose
# address moved to its successor).

owner=$(recorded_host_id)
if [ -n "$owner" ] && [ "$owner" != "$HOST_ID" ]; then
  log "this host now belongs to deployment $owner, not $HOST_ID; leaving it alone"
  exit 0
fi
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  log "no docker on this host; nothing to stop"
  exit 0
fi
for project in "$EDGE_PROJECT-blue" "$EDGE_PROJECT-green" "$EDGE_PROJECT"; do
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$project")
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one argument per container id
    docker stop -t "$DRAIN_SECONDS" $ids >/dev/null
    # shellcheck disable=SC2086
    docker rm $ids >/dev/null
  fi
done
docker network rm "$EDGE_NETWORK" "$BACKEND_NETWORK" >/dev/null 2>&1 || true
# The next activation starts the proxy afresh.
rm -f "$ACTIVE_FILE" "$CADDY_DIR/Caddyfile" "$CADDY_DIR/hosts"
log "stopped clawdbot; data kept in $DATA_DIR"
