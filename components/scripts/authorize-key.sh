# Makes sshPublicKey the one key in the deploy user's authorized_keys, in place: a new key
# reaches a running host here, never through a new instance. Written atomically, so that a
# failed step leaves the previous file whole.

umask 077
mkdir -p "$HOME/.ssh"
tmp=$(mktemp "$HOME/.ssh/authorized_keys.XXXXXX")
printf '%s\n' "$AUTHORIZED_KEY" >"$tmp"
mv -f "$tmp" "$HOME/.ssh/authorized_keys"
log "authorized_keys holds the one key ${AUTHORIZED_KEY%% *} ${AUTHORIZED_KEY#* }"
