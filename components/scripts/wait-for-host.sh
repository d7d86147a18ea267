# Readiness: the first step on a host. Waits for cloud-init to finish (when the host has it),
# checks that the host's CPU runs the image's platform, then waits for the Docker daemon and the
# compose plugin.

if command -v cloud-init >/dev/null 2>&1; then
  log "waiting for cloud-init"
  status=0
  cloud-init status --wait >/dev/null || status=$?
  # 2: done, with recoverable errors (e.g. a deprecated key); the host is usable.
  case $status in
    0) ;;
    2) log "cloud-init finished with recoverable errors (cloud-init status --long)" ;;
    *) die "cloud-init failed (exit $status); see /var/log/cloud-init-output.log" ;;
  esac
fi

machine=$(uname -m)
[ "$machine" = "$MACHINE" ] || die "the image is built for $PLATFORM, but this host is $machine (set the platform to match the host)"

# A session opened before cloud-init added this user to the docker group does not have the
# group yet; sg gives it a fresh one.
docker_cli() {
  if [ "$(id -u)" = 0 ] || id -nG | tr ' ' '\n' | grep -qx docker; then
    docker "$@"
  else
    sg docker -c "docker $(printf '%q ' "$@")"
  fi
}

deadline=$((SECONDS + DOCKER_TIMEOUT_SECONDS))
until docker_cli info >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || die "docker is not answering after ${DOCKER_TIMEOUT_SECONDS}s (docker info)"
  sleep 2
done
docker_cli compose version >/dev/null 2>&1 || die "the docker compose plugin is missing"
log "docker $(docker_cli version --format '{{.Server.Version}}'), $(docker_cli compose version | head -n 1)"
