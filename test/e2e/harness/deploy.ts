import { rmSync } from 'node:fs';
import { planRelease, type ReleasePlan } from '../../../components/scripts/plan';
import type { ReleaseProxySettings } from '../../../components/scripts/release';
import type { HostStepSettings } from '../../../components/scripts/render';
import { renderEnvFile } from '../../../components/scripts/write-env';
import { copyOverSsh, runOverSsh, type SshTarget } from '../../../components/scripts/ssh';
import { runBash } from './exec';

// Runs one release's planned steps in the order the Deployment component wires them:
// probe → save (local) → copy archive and config files → load → env file → activate.

export interface ReleaseInput {
  imageId: string;
  proxy: ReleaseProxySettings;
  settings: HostStepSettings;
  environment: Record<string, string>;
  /** Where the release's compose.yaml and Caddyfile come from; the repository by default. */
  configDir?: string;
}

export interface ShippedRelease {
  plan: ReleasePlan;
  /** What the probe said: whether the archive carried the image or nothing. */
  hostHadImage: boolean;
  activateOutput: string;
  /** Seconds per step, in order. */
  durations: Array<[string, number]>;
}

export async function deployRelease(
  host: SshTarget,
  builderEnv: NodeJS.ProcessEnv,
  localArchive: string,
  input: ReleaseInput,
): Promise<ShippedRelease> {
  const plan = planRelease({ imageId: input.imageId, proxy: input.proxy, settings: input.settings, localArchive, configDir: input.configDir });
  const durations: Array<[string, number]> = [];
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      durations.push([name, (Date.now() - started) / 1000]);
    }
  };
  const probe = await step('probe', () => runOverSsh(host, plan.probeImage));
  await step('save', () => runBash(plan.saveImage(probe.stdout), { env: builderEnv }));
  await step('copy image', async () => {
    try {
      await copyOverSsh(host, plan.localArchive, plan.remoteArchive);
    } finally {
      rmSync(plan.localArchive, { force: true });
    }
  });
  await step('copy config', async () => {
    for (const file of plan.configFiles) await copyOverSsh(host, file.source, file.remotePath);
  });
  await step('load', () => runOverSsh(host, plan.loadImage));
  await step('env file', () => runOverSsh(host, plan.writeEnv, { stdin: renderEnvFile(input.environment) }));
  const activate = await step('activate', () => runOverSsh(host, plan.activate));
  return { plan, hostHadImage: probe.stdout.trim() === 'present', activateOutput: activate.stdout + activate.stderr, durations };
}
