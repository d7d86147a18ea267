# Loads the shipped archive (unless the host already has the image), then tags the image as
# the release, so that pruning a release frees its image.

if docker image inspect "$IMAGE_ID" >/dev/null 2>&1; then
  log "the host already has $IMAGE_ID"
else
  [ -s "$ARCHIVE" ] || die "$IMAGE_ID is not on this host and $ARCHIVE is empty or missing; ship the image again"
  gunzip -c "$ARCHIVE" | docker load >/dev/null
  docker image inspect "$IMAGE_ID" >/dev/null 2>&1 || die "$ARCHIVE did not hold $IMAGE_ID"
  log "loaded $IMAGE_ID"
fi
rm -f "$ARCHIVE"
docker tag "$IMAGE_ID" "$BOT:$RELEASE"
