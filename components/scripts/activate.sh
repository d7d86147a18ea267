# Makes RELEASE (shipped to $RELEASES_DIR/$RELEASE, image tagged by the load step) the live
# release without dropping a request: see activate_release in lib/release.sh.

take_deploy_lock
dir="$RELEASES_DIR/$RELEASE"
[ -f "$dir/compose.yaml" ] || die "release $RELEASE has no compose.yaml in $dir; ship its config first"
# Compose reads .env from the project dir: the interpolation of this release, kept with it so
# that a rollback gets the same proxy settings back.
{
  printf 'CLAWDBOT_DOMAIN=%s\n' "$DOMAIN"
  if [ -n "$CADDY_IMAGE" ]; then printf 'CADDY_IMAGE=%s\n' "$CADDY_IMAGE"; fi
  if [ -n "$REDIS_IMAGE" ]; then printf 'REDIS_IMAGE=%s\n' "$REDIS_IMAGE"; fi
} >"$dir/.env"
activate_release "$RELEASE"
