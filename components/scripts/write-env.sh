# Writes the bot's env file (it holds the secrets) from stdin: mode 0600 from the first byte,
# replaced atomically. Nothing of it is printed.

umask 077
mkdir -p "$(dirname "$ENV_FILE")"
tmp=$(mktemp "$ENV_FILE.XXXXXX")
cat >"$tmp"
mv -f "$tmp" "$ENV_FILE"
log "wrote $(grep -c = "$ENV_FILE") variables to $ENV_FILE"
