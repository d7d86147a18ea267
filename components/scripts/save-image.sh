# Runs where Pulumi runs: writes the image as a compressed `docker save`, or an empty file
# when the host already has it (HOST_HAS_IMAGE from probe-image.sh).

mkdir -p "$(dirname "$ARCHIVE")"
if [ "$HOST_HAS_IMAGE" = present ]; then
  : >"$ARCHIVE"
  log "the host already has $IMAGE_ID; nothing to ship"
  exit 0
fi
docker save "$IMAGE_ID" | gzip >"$ARCHIVE.partial"
mv -f "$ARCHIVE.partial" "$ARCHIVE"
log "saved $IMAGE_ID: $(du -h "$ARCHIVE" | cut -f1)"
