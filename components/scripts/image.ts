import { asCommand, renderScript } from './render';

// The image's way onto the host: over SSH (probe, save where Pulumi runs, load) or from ECR (pull).

/** Prints "present" or "missing": whether the host already has the image. */
export function probeImageCommand(imageId: string): string {
  return asCommand(renderScript('probe-image', { IMAGE_ID: imageId }));
}

/** Local: the image as a compressed `docker save` at `archive`, or an empty file when the host has it. */
export function saveImageCommand(args: { imageId: string; archive: string; hostHasImage: string }): string {
  return asCommand(renderScript('save-image', { IMAGE_ID: args.imageId, ARCHIVE: args.archive, HOST_HAS_IMAGE: args.hostHasImage.trim() }));
}

/** Loads the shipped archive unless the host has the image, and tags it as the release. */
export function loadImageCommand(args: { imageId: string; archive: string; release: string }): string {
  return asCommand(renderScript('load-image', { IMAGE_ID: args.imageId, ARCHIVE: args.archive, RELEASE: args.release }));
}

/** ECR transport: pulls the image with the instance role and tags it as the release. */
export function pullImageCommand(args: { imageRef: string; registry: string; region: string; release: string }): string {
  return asCommand(
    renderScript('pull-image', { IMAGE_REF: args.imageRef, REGISTRY: args.registry, AWS_REGION: args.region, RELEASE: args.release }),
  );
}
