import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { run } from './exec';
import { buildBaseImages, E2E_IMAGES } from './images';
import { RUNTIME_PARENT, RUNTIME_PREFIX, startPodman, type IsolatedPodman } from './podman';
import { startS3, type LocalS3 } from './s3';
import { startTestHost, type TestHost } from './testHost';

// Everything the e2e run needs, started in order and stopped in reverse, even after a failure:
// the builder (Podman on the CI side, where Pulumi would build), the base images, local S3
// servers (one per region) on the CI side of the veth pair, and the test host.

export const NETWORK = { name: 'clawdbot-e2e', ciAddress: '10.123.0.1', hostAddress: '10.123.0.2', sshPort: 2222 } as const;
export const BACKUP_BUCKET = 'clawdbot-e2e-backups';
/**
 * Two S3 servers standing for two AWS regions: the stack's own (its backup bucket) and the
 * replica region (prod's replica bucket, where a rebuild after a lost region restores from).
 */
export const S3_REGIONS = {
  primary: { region: 'us-east-1', port: 9000, bucket: BACKUP_BUCKET },
  replica: { region: 'ap-northeast-1', port: 9001, bucket: 'clawdbot-e2e-backups-replica' },
} as const;
export type S3RegionName = keyof typeof S3_REGIONS;
const RUN_PARENT = '/var/tmp';
const RUN_PREFIX = 'clawdbot-e2e-run-';

/** Phase durations, printed at the end of the run. */
export class PhaseTimer {
  readonly phases: Array<{ name: string; seconds: number }> = [];

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await work();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.phases.push({ name, seconds });
      console.log(`[e2e] ${name}: ${seconds.toFixed(1)} s`);
    }
  }

  report(): string {
    return ['phase durations:', ...this.phases.map(({ name, seconds }) => `  ${seconds.toFixed(1).padStart(7)} s  ${name}`)].join('\n');
  }
}

export interface E2eEnvironment {
  runDir: string;
  builder: IsolatedPodman;
  /** The primary region's S3 server. */
  s3: LocalS3;
  s3In(region: S3RegionName): LocalS3;
  /** Stops a region's S3 server for good (its objects stay on disk, unreachable): a lost region. */
  loseRegion(region: S3RegionName): Promise<void>;
  host: TestHost;
  /**
   * Starts a fresh test host (empty image store, new host key) in place of the current one; with
   * `dataVolume`, the old host's root dir is mounted as the new one's (the re-attached data volume).
   */
  replaceHost(options?: { dataVolume?: string }): Promise<TestHost>;
  stop(): Promise<void>;
}

export async function startEnvironment(timer: PhaseTimer): Promise<E2eEnvironment> {
  if (process.getuid?.() !== 0) throw new Error('the e2e suite needs root (network namespaces, sshd, rootful podman)');
  await run('docker', ['--version']).catch(() => {
    throw new Error('the e2e suite drives Podman through the docker CLI: put a docker client on PATH (these machines have /usr/local/bin/docker)');
  });
  // A run killed before its cleanup leaves its dir behind; only one run at a time can hold the
  // network namespace, so any earlier run dir is stale.
  for (const [parent, prefix] of [[RUN_PARENT, RUN_PREFIX], [RUNTIME_PARENT, RUNTIME_PREFIX]]) {
    for (const entry of readdirSync(parent)) if (entry.startsWith(prefix)) rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
  const runDir = mkdtempSync(path.join(RUN_PARENT, RUN_PREFIX));
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch((error: Error) => console.error(`e2e cleanup: ${error.message}`));
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    const builder = await startPodman({ dir: path.join(runDir, 'builder') });
    stops.push(() => builder.stop());
    await timer.time('base images (debootstrap root, Node, Caddy, Redis)', () => buildBaseImages(builder.env, runDir));

    // The S3 servers listen on the CI end of the veth pair, so they come and go with the host
    // (their objects stay on disk). All take the same fixed credentials.
    const s3Dir = (region: S3RegionName) => path.join(runDir, `s3-${region}`);
    const credentialsFile = path.join(s3Dir('primary'), 'credentials');
    const servers = new Map<S3RegionName, LocalS3>();
    const lost = new Set<S3RegionName>();
    let host: TestHost | undefined;
    const startHost = async (dataVolume?: string): Promise<void> => {
      host = await startTestHost({
        runDir: mkdtempSync(path.join(runDir, 'host-')),
        name: NETWORK.name,
        ciAddress: NETWORK.ciAddress,
        hostAddress: NETWORK.hostAddress,
        sshPort: NETWORK.sshPort,
        // What the instance role and a clean shell are on a real host.
        sessionEnv: { AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: '/dev/null' },
        dataVolume,
      });
      for (const [region, { port, bucket }] of Object.entries(S3_REGIONS) as Array<[S3RegionName, (typeof S3_REGIONS)[S3RegionName]]>) {
        if (!lost.has(region)) servers.set(region, await startS3({ dir: s3Dir(region), address: NETWORK.ciAddress, port, bucket }));
      }
      // A real host pulls Caddy and Redis from a registry; this one gets them from the builder.
      await run('sh', ['-c', 'docker save "$0" | DOCKER_HOST="$1" docker load', E2E_IMAGES.services, host.dockerHost], { env: builder.env });
    };
    const stopS3 = async (region: S3RegionName): Promise<void> => {
      const server = servers.get(region);
      servers.delete(region);
      await server?.stop();
    };
    const stopHost = async (): Promise<void> => {
      for (const region of [...servers.keys()]) await stopS3(region);
      await host?.stop();
      host = undefined;
    };
    await timer.time('test host (netns, sshd, podman)', () => startHost());
    stops.push(stopHost);

    const s3In = (region: S3RegionName): LocalS3 => {
      const server = servers.get(region);
      if (!server) throw new Error(`no S3 server is running for the ${region} region`);
      return server;
    };
    const environment: E2eEnvironment = {
      runDir,
      builder,
      get s3() {
        return s3In('primary');
      },
      s3In,
      loseRegion: async (region) => {
        lost.add(region);
        await stopS3(region);
      },
      get host() {
        if (!host) throw new Error('no test host is running');
        return host;
      },
      replaceHost: async (options) => {
        await stopHost();
        await startHost(options?.dataVolume);
        return environment.host;
      },
      stop,
    };
    return environment;
  } catch (error) {
    await stop();
    throw error;
  }
}
