# Returns to a kept release: RELEASE, or when empty the one that was live before the current.

take_deploy_lock
[ -f "$HISTORY_FILE" ] || die "no release was ever activated on this host"
if [ -z "$RELEASE" ]; then
  current=""
  if [ -f "$ACTIVE_FILE" ]; then read -r _ current <"$ACTIVE_FILE"; fi
  RELEASE=$(cut -d' ' -f1 "$HISTORY_FILE" | grep -vx "$current" | tail -n 1 || true)
  [ -n "$RELEASE" ] || die "no earlier release is kept on this host"
fi
if ! cut -d' ' -f1 "$HISTORY_FILE" | grep -qx "$RELEASE"; then
  log "kept releases (oldest first):"
  cat "$HISTORY_FILE"
  die "release $RELEASE is not kept on this host"
fi
log "rolling back to $RELEASE"
activate_release "$RELEASE"
