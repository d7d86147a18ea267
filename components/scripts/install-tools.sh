# Installs the host tools (the backup job and the restore command) into $BIN_DIR, where the
# backup timer and the runbook expect them. The tools' text is rendered into this step. Records
# the deployment the host now belongs to, which the deletion step of an older one checks.

mkdir -p "$BIN_DIR"
record_host_id "$HOST_ID"
install_tool() {
  local tmp
  tmp=$(mktemp "$BIN_DIR/.$1.XXXXXX")
  cat >"$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$BIN_DIR/$1"
  log "installed $BIN_DIR/$1"
}
