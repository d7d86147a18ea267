# Writes a settings file that holds secrets (the bot's env file; the backup settings of a host
# without an instance role) from stdin: mode 0600 from the first byte, replaced atomically.
# Nothing of it is printed.

umask 077
mkdir -p "$(dirname "$ENV_FILE")"
tmp=$(mktemp "$ENV_FILE.XXXXXX")
cat >"$tmp"
mv -f "$tmp" "$ENV_FILE"
log "wrote $(grep -c = "$ENV_FILE") variables to $ENV_FILE"
