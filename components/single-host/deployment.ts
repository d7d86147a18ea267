import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { local, remote } from '@pulumi/command';
import { HOST_PATHS } from '../../app/src/contract';
import { installBackupTimerCommand } from '../scripts/install-backup-timer';
import { installToolsCommand } from '../scripts/install-tools';
import { planRelease, type ReleasePlan } from '../scripts/plan';
import { RELEASE_FILES, type ReleaseProxySettings } from '../scripts/release';
import { DEFAULT_HOST_STEP_SETTINGS, type HostStepSettings } from '../scripts/render';
import { restoreOnBootCommand, type RestoreOnBoot } from '../scripts/restore-on-boot';
import { waitForHostCommand, type Platform } from '../scripts/wait-for-host';
import { renderEnvFile, writeEnvCommand } from '../scripts/write-env';
import { buildImage, imageOntoHost, localArchivePath } from './deploymentImage';

/** Where the host is and how Pulumi logs in: an EC2 host of this stack, or a machine of yours. */
export interface SshConnectionArgs {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  privateKey: pulumi.Input<string>;
  /** The host's SSH key (authorized_keys form): every step verifies the host against it. */
  hostKey: pulumi.Input<string>;
  /** What to check when the host takes no SSH session (the tunnel, the allowed ranges...). */
  unreachableHint: string;
}

/** Backups on a host without cloud-init (a machine of yours): its settings and timer come with the deployment. */
export interface HostBackupSettings {
  /** backup.env: bucket, prefix, retention, region, restore source, and an access key (secret). */
  settings: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** systemd OnCalendar expression of the backup timer. */
  schedule: string;
}

export interface DeploymentArgs {
  connection: SshConnectionArgs;
  /** Changes when the host is replaced (the instance id; host:port for a machine of yours): every host step runs again on the new one. */
  hostId: pulumi.Input<string>;
  /** The host's platform: linux/arm64 for t4g, linux/amd64 otherwise. */
  platform: Platform;
  /**
   * The image build: context and Dockerfile, relative to the directory Pulumi runs in (the
   * repository root), and a base image (e.g. on a registry mirror).
   */
  build: { context: string; dockerfile: string; baseImage?: pulumi.Input<string> };
  /** `ssh`: docker save → copy → docker load. `ecr`: push to an ECR repository; the host pulls with its role. */
  imageTransport: 'ssh' | 'ecr';
  /** ECR transport: the role of the host, which gets pull rights on the repository. */
  hostRoleName?: pulumi.Input<string>;
  /** The bot's environment (app/src/lib/config.ts names), secrets included; it reaches the host only through stdin. */
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The name Caddy gets a certificate for; unset: the bot is served on http://<host>:18789 only. */
  domain?: pulumi.Input<string>;
  /** Images of the proxy and Redis, for hosts that pull through a mirror. */
  caddyImage?: pulumi.Input<string>;
  redisImage?: pulumi.Input<string>;
  /** On a fresh host, before the bot first starts: restore the newest backup, a named key, or nothing. */
  restoreOnBoot: RestoreOnBoot;
  /** Set for a host without cloud-init that backs up. */
  hostBackup?: HostBackupSettings;
  keepReleases?: number;
  healthTimeoutSeconds?: number;
  /** The host's own resource: when it goes in the same run, the deletion step has nothing to stop and is skipped. */
  deletedWith?: pulumi.Resource;
}

/** What `npm run rollback` needs from the stack's outputs (with the SSH key from its config). */
export interface RollbackTarget {
  host: string;
  port: number;
  user: string;
  hostKey: string;
  keepReleases: number;
  healthTimeoutSeconds: number;
}

/**
 * Builds the bot's image and ships it to the host over SSH, then makes it the live release
 * without dropping a request (components/scripts/). Steps, in order: image → readiness →
 * ship (image and config files) → activate, beside the host tools, the env file and the
 * restore on boot. Each step re-runs only when its image, config or host changed.
 */
export class Deployment extends pulumi.ComponentResource {
  /** The image ID (ssh) or repository digest (ecr) of the live release. */
  public readonly imageRef: pulumi.Output<string>;
  /** The id of the live release on the host (releases/<id>). */
  public readonly release: pulumi.Output<string>;
  public readonly rollbackTarget: pulumi.Output<RollbackTarget>;
  /** ECR transport only. */
  public readonly repositoryUrl?: pulumi.Output<string>;

  constructor(name: string, args: DeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:deployment:Deployment', name, {}, opts);
    const child = { parent: this };
    const settings: HostStepSettings = {
      ...DEFAULT_HOST_STEP_SETTINGS,
      ...(args.keepReleases !== undefined && { keepReleases: args.keepReleases }),
      ...(args.healthTimeoutSeconds !== undefined && { healthTimeoutSeconds: args.healthTimeoutSeconds }),
    };
    const connection = {
      host: args.connection.host,
      port: args.connection.port,
      user: args.connection.user,
      privateKey: pulumi.secret(args.connection.privateKey),
      hostKey: args.connection.hostKey,
    };
    // The local steps (reaching the host, teardown) get the connection through the environment,
    // so that the key never appears in a command's text.
    const sshEnvironment = {
      CLAWDBOT_SSH_HOST: connection.host,
      CLAWDBOT_SSH_PORT: pulumi.output(connection.port).apply(String),
      CLAWDBOT_SSH_USER: connection.user,
      CLAWDBOT_SSH_PRIVATE_KEY: connection.privateKey,
      CLAWDBOT_SSH_HOST_KEY: connection.hostKey,
    };
    const hostId = pulumi.output(args.hostId);
    const proxy: pulumi.Output<ReleaseProxySettings> = pulumi
      .all([args.domain, args.caddyImage, args.redisImage])
      .apply(([domain, caddyImage, redisImage]) => ({ domain: domain || undefined, caddyImage, redisImage }));

    // --- image ---------------------------------------------------------------------------------
    const built = buildImage(
      name,
      { build: args.build, platform: args.platform, imageTransport: args.imageTransport, hostRoleName: args.hostRoleName, hostId, keepReleases: settings.keepReleases },
      this,
    );
    this.repositoryUrl = built.repository?.repositoryUrl;
    // For a local image, repoDigest is the image ID; for a pushed one, repository@digest.
    this.imageRef = built.image.repoDigest;

    // --- readiness: waits, for a bounded time, as long as a new instance takes to boot ----------
    // The wait is a local step (components/scripts/reach-host.ts) because a remote step's dial
    // retries end in the provider's bare dial error; this one ends saying what to check.
    const reachable = new local.Command(
      `${name}-reach-host`,
      { create: 'npx tsx components/scripts/reach-host.ts', environment: { ...sshEnvironment, CLAWDBOT_SSH_UNREACHABLE_HINT: args.connection.unreachableHint }, triggers: [hostId] },
      { ...child, customTimeouts: { create: '40m' } },
    );
    const readiness = new remote.Command(
      `${name}-readiness`,
      { connection: { ...connection, perDialTimeout: 30 }, create: waitForHostCommand(args.platform), triggers: [hostId] },
      { ...child, dependsOn: [reachable] },
    );

    // The deletion step: stops the bot's services on the host, tolerating a host that is gone or
    // that another deployment has taken over (components/scripts/remove-from-host.ts). Runs where
    // Pulumi runs; the key goes through the environment.
    new local.Command(
      `${name}-teardown`,
      {
        delete: 'npx tsx components/scripts/remove-from-host.ts',
        environment: { ...sshEnvironment, CLAWDBOT_HOST_ID: hostId },
        triggers: [hostId],
      },
      { ...child, dependsOn: [readiness], ...(args.deletedWith && { deletedWith: args.deletedWith }) },
    );

    const tools = new remote.Command(
      `${name}-host-tools`,
      { connection, create: hostId.apply((id) => installToolsCommand(id, settings)), triggers: [hostId] },
      { ...child, dependsOn: [readiness] },
    );

    // A host without cloud-init gets its backup settings (an access key among them: stdin only)
    // and the timer here.
    const hostBackupSteps: pulumi.Resource[] = [];
    if (args.hostBackup) {
      const backupSettings = pulumi.secret(pulumi.output(args.hostBackup.settings).apply((values) => renderEnvFile(values as Record<string, string>)));
      hostBackupSteps.push(
        new remote.Command(
          `${name}-backup-settings`,
          { connection, create: writeEnvCommand(HOST_PATHS.backupEnv), stdin: backupSettings, logging: 'none', addPreviousOutputInEnv: false, triggers: [hostId] },
          { ...child, dependsOn: [readiness], additionalSecretOutputs: ['stdout', 'stderr'] },
        ),
        new remote.Command(
          `${name}-backup-timer`,
          { connection, create: installBackupTimerCommand(args.hostBackup.schedule), triggers: [hostId] },
          { ...child, dependsOn: [tools] },
        ),
      );
    }

    const restore = new remote.Command(
      `${name}-restore-on-boot`,
      { connection, create: restoreOnBootCommand(args.restoreOnBoot, settings), triggers: [hostId] },
      { ...child, dependsOn: [tools, ...hostBackupSteps] },
    );

    // --- ship: the image, the release's config files, the env file ------------------------------
    const localArchive = localArchivePath(name);
    const plan: pulumi.Output<ReleasePlan> = pulumi
      .all([this.imageRef, proxy])
      .apply(([imageRef, releaseProxy]) => planRelease({ imageId: imageRef, proxy: releaseProxy, settings, localArchive }));
    this.release = plan.release;

    const configCopies = Object.values(RELEASE_FILES).map(
      (file, index) =>
        new remote.CopyToRemote(
          `${name}-config-${path.basename(file).toLowerCase().replace(/\W/g, '-')}`,
          { connection, source: new pulumi.asset.FileAsset(file), remotePath: plan.apply((p) => p.configFiles[index].remotePath), triggers: [hostId] },
          { ...child, dependsOn: [readiness] },
        ),
    );

    const imageOnHost = imageOntoHost(name, { built, imageRef: this.imageRef, plan, localArchive, connection, hostId, readiness, configCopies }, this);

    const environmentText = pulumi.secret(pulumi.output(args.environment).apply((environment) => renderEnvFile(environment as Record<string, string>)));
    const envFile = new remote.Command(
      `${name}-env-file`,
      {
        connection,
        create: writeEnvCommand(HOST_PATHS.envFile),
        stdin: environmentText,
        logging: 'none',
        addPreviousOutputInEnv: false,
        triggers: [hostId],
      },
      { ...child, dependsOn: [readiness], additionalSecretOutputs: ['stdout', 'stderr'] },
    );

    // --- activate --------------------------------------------------------------------------------
    // Re-runs when the release (image + config files + proxy settings) or the env file changed.
    // No delete command: replacing this step must never stop the release it just started.
    const configHash = pulumi.all([plan.release, environmentText]).apply(([release, text]) => createHash('sha256').update(release).update('\0').update(text).digest('hex'));
    new remote.Command(
      `${name}-activate`,
      { connection, create: plan.apply((p) => p.activate), triggers: [this.imageRef, configHash, hostId] },
      { ...child, dependsOn: [imageOnHost, ...configCopies, envFile, restore] },
    );

    this.rollbackTarget = pulumi.all([connection.host, connection.port, connection.user, connection.hostKey]).apply(([host, port, user, hostKey]) => ({
      host,
      port,
      user,
      hostKey,
      keepReleases: settings.keepReleases,
      healthTimeoutSeconds: settings.healthTimeoutSeconds,
    }));
    this.registerOutputs({ imageRef: this.imageRef, release: this.release, rollbackTarget: this.rollbackTarget, repositoryUrl: this.repositoryUrl });
  }
}
