# Prints "present" when the host already has the image, "missing" otherwise. The local save
# step ships an empty archive for a present image instead of the whole image.

if docker image inspect "$IMAGE_ID" >/dev/null 2>&1; then
  echo present
else
  echo missing
fi
