import * as path from 'node:path';
import { HOST_PATHS } from '../../app/src/contract';
import { loadImageCommand, probeImageCommand, saveImageCommand } from './image';
import { activateCommand, RELEASE_FILES, releaseId, type ReleaseProxySettings } from './release';
import { REPO_ROOT, type HostStepSettings } from './render';
import { writeEnvCommand } from './write-env';

// One release's steps, in order, as the Deployment component wires them and the e2e suite runs
// them: probe the host for the image, save it locally (or an empty file), copy the archive and
// the config files, load, write the env file, activate.

export interface ReleasePlan {
  release: string;
  /** Written by the save step where Pulumi runs; the source of the archive copy. */
  localArchive: string;
  remoteArchive: string;
  /** Copied as they are into the release's dir on the host. */
  configFiles: Array<{ source: string; remotePath: string }>;
  probeImage: string;
  /** The local save step, given the probe's output. */
  saveImage(hostHasImage: string): string;
  loadImage: string;
  /** Reads the env file's text on stdin. */
  writeEnv: string;
  activate: string;
}

export interface ReleasePlanArgs {
  imageId: string;
  proxy: ReleaseProxySettings;
  settings: HostStepSettings;
  /** Where the save step writes the archive, one path per deployment (the copy step reads it). */
  localArchive: string;
  /** Where RELEASE_FILES are read from: the repository, unless a test ships edited copies. */
  configDir?: string;
}

export function planRelease(args: ReleasePlanArgs): ReleasePlan {
  const configDir = args.configDir ?? REPO_ROOT;
  const release = releaseId(args.imageId, args.proxy, configDir);
  const releaseDir = `${HOST_PATHS.releases}/${release}`;
  const remoteArchive = `${releaseDir}/image.tar.gz`;
  return {
    release,
    localArchive: args.localArchive,
    remoteArchive,
    configFiles: Object.values(RELEASE_FILES).map((file) => ({ source: path.join(configDir, file), remotePath: `${releaseDir}/${path.basename(file)}` })),
    probeImage: probeImageCommand(args.imageId),
    saveImage: (hostHasImage) => saveImageCommand({ imageId: args.imageId, archive: args.localArchive, hostHasImage }),
    loadImage: loadImageCommand({ imageId: args.imageId, archive: remoteArchive, release }),
    writeEnv: writeEnvCommand(),
    activate: activateCommand(release, args.proxy, args.settings),
  };
}
