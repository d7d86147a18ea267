# ECR transport: pulls the release's image with the instance role, then tags it as the release.

PATH="$PATH:/snap/bin"
aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY" >/dev/null
docker pull -q "$IMAGE_REF" >/dev/null
docker tag "$IMAGE_REF" "$BOT:$RELEASE"
log "pulled $IMAGE_REF"
