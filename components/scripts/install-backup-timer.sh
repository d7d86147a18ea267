# Installs the backup timer (the units are rendered into the step), so that a new schedule is
# applied in place. It needs root: the deploy user is root, or may run sudo without a password
# (Ubuntu's on an EC2 host may).

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}
as_root true 2>/dev/null ||
  die "installing the backup timer needs root: run the deployment as root, or let $(id -un) run sudo without a password"
command -v aws >/dev/null 2>&1 || die "the backup job needs the AWS CLI on this host (e.g. apt-get install awscli)"
command -v systemctl >/dev/null 2>&1 || die "the backup timer needs systemd on this host"

install_unit() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  as_root install -m 0644 "$tmp" "/etc/systemd/system/$1"
  rm -f "$tmp"
  log "installed /etc/systemd/system/$1"
}

enable_backup_timer() {
  as_root systemctl daemon-reload
  as_root systemctl enable --now clawdbot-backup.timer
  log "clawdbot-backup.timer: next run $(systemctl show -P NextElapseUSecRealtime clawdbot-backup.timer)"
}
