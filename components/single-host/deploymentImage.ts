import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';
import { local, remote, type types } from '@pulumi/command';
import { pullImageCommand } from '../scripts/image';
import { ecrImage } from '../shared/ecrImage';
import type { ReleasePlan } from '../scripts/plan';
import type { DeploymentArgs } from './deployment';

// The Deployment's image and its way onto the host, per transport: `ssh` keeps the image in the
// local engine and ships it as an archive; `ecr` pushes it to a repository that the host pulls
// from with its role. Every resource here is a child of the Deployment, named after it.

/** Where the save step writes the image archive, relative to the directory Pulumi runs in; npm keeps caches there. */
const IMAGE_ARCHIVE_DIR = path.join('node_modules', '.cache', 'clawdbot-images');

/** Where the Deployment `name`'s save step writes the image archive. */
export function localArchivePath(name: string): string {
  return path.join(IMAGE_ARCHIVE_DIR, `${name}.tar.gz`);
}

export interface ImageBuildArgs extends Pick<DeploymentArgs, 'build' | 'platform' | 'imageTransport' | 'hostRoleName'> {
  hostId: pulumi.Output<string>;
  /** ECR keeps as many images as the host keeps releases. */
  keepReleases: number;
}

export interface BuiltImage {
  image: docker.Image;
  /** ECR transport only. */
  repository?: aws.ecr.Repository;
}

/** Builds the bot's image: pushed to an ECR repository of its own, or into the local engine only. */
export function buildImage(name: string, args: ImageBuildArgs, parent: pulumi.Resource): BuiltImage {
  const child = { parent };
  const buildArgs = args.build.baseImage ? { BASE_IMAGE: args.build.baseImage } : undefined;
  const build = { context: args.build.context, dockerfile: args.build.dockerfile, platform: args.platform, args: buildArgs };
  if (args.imageTransport === 'ecr') {
    if (!args.hostRoleName) throw new Error('deployment: imageTransport "ecr" needs hostRoleName (the role that pulls)');
    const built = ecrImage(name, { build, keepImages: args.keepReleases, keepReason: 'keep what the host keeps for rollback' }, parent);
    new aws.iam.RolePolicyAttachment(`${name}-image-pull`, { role: args.hostRoleName, policyArn: aws.iam.ManagedPolicy.AmazonEC2ContainerRegistryReadOnly }, child);
    return built;
  }
  // The tag follows the host, so a new host gets a fresh build: the save step needs the
  // image in the local engine, which a fresh CI runner only has after building it.
  const hostTag = args.hostId.apply((id) => createHash('sha256').update(id).digest('hex').slice(0, 12));
  return { image: new docker.Image(`${name}-image`, { build, imageName: pulumi.interpolate`clawdbot-${name}:${hostTag}`, skipPush: true }, child) };
}

export interface ImageOntoHostArgs {
  built: BuiltImage;
  /** The built image's ID (ssh) or repository digest (ecr). */
  imageRef: pulumi.Output<string>;
  plan: pulumi.Output<ReleasePlan>;
  /** Where the save step writes the archive (localArchivePath). */
  localArchive: string;
  connection: types.input.remote.ConnectionArgs;
  hostId: pulumi.Output<string>;
  readiness: pulumi.Resource;
  /** The release's config files: the load step puts the image into their release dir. */
  configCopies: pulumi.Resource[];
}

/** Puts the image on the host, tagged as the release: pulled from ECR, or probed, saved, copied and loaded. Returns the last step. */
export function imageOntoHost(name: string, args: ImageOntoHostArgs, parent: pulumi.Resource): pulumi.Resource {
  const child = { parent };
  const { built, imageRef, plan, connection, hostId, readiness } = args;
  if (built.repository) {
    return new remote.Command(
      `${name}-pull-image`,
      {
        connection,
        create: pulumi
          .all([imageRef, built.repository.repositoryUrl, plan.release, aws.getRegionOutput({}, child).region])
          .apply(([ref, url, release, region]) => pullImageCommand({ imageRef: ref, registry: url.split('/')[0], region, release })),
        triggers: [imageRef, hostId],
      },
      { ...child, dependsOn: [built.image, readiness] },
    );
  }
  const probe = new remote.Command(
    `${name}-probe-image`,
    { connection, create: plan.apply((p) => p.probeImage), triggers: [imageRef, hostId] },
    { ...child, dependsOn: [built.image, readiness] },
  );
  const save = new local.Command(
    `${name}-save-image`,
    { create: pulumi.all([plan, probe.stdout]).apply(([p, hostHasImage]) => p.saveImage(hostHasImage)), triggers: [imageRef, hostId] },
    { ...child, dependsOn: [probe] },
  );
  // The copy re-runs on its triggers (a new image or host), after the save step wrote the
  // archive. Between those, the archive may be gone (another machine, a cleaned cache): an
  // empty stand-in keeps the asset readable, and its content is not compared.
  const shipImage = new remote.CopyToRemote(
    `${name}-ship-image`,
    {
      connection,
      source: save.stdout.apply(() => new pulumi.asset.FileAsset(ensureFile(args.localArchive))),
      remotePath: plan.apply((p) => p.remoteArchive),
      triggers: [imageRef, hostId],
    },
    { ...child, dependsOn: [save], ignoreChanges: ['source'] },
  );
  return new remote.Command(
    `${name}-load-image`,
    { connection, create: plan.apply((p) => p.loadImage), triggers: [imageRef, hostId] },
    { ...child, dependsOn: [shipImage, ...args.configCopies] },
  );
}

/** Creates an empty file at `file` unless there is one; returns the path. */
function ensureFile(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    closeSync(openSync(file, 'a'));
  }
  return file;
}
