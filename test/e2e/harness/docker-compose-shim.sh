#!/bin/sh
# `docker compose` on the test host. Compose v2 is not in Debian bookworm, so this Docker CLI
# plugin hands `docker compose ...` to Debian's docker-compose (v1), which drives the same
# Docker API (here Podman's). The deploy steps use only what both versions share.
if [ "${1:-}" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"clawdbot e2e","Version":"1.29.2","ShortDescription":"Docker Compose v1 as a CLI plugin"}'
  exit 0
fi
shift # the CLI passes the plugin's name first
exec /usr/bin/docker-compose "$@"
