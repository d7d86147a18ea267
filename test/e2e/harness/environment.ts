import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { run } from './exec';
import { buildBaseImages, E2E_IMAGES } from './images';
import { RUNTIME_PARENT, RUNTIME_PREFIX, startPodman, type IsolatedPodman } from './podman';
import { startS3, type LocalS3 } from './s3';
import { startTestHost, type TestHost } from './testHost';

// Everything the e2e run needs, started in order and stopped in reverse, even after a failure:
// the builder (Podman on the CI side, where Pulumi would build), the base images, a local S3
// server on the CI side of the veth pair, and the test host.

export const NETWORK = { name: 'clawdbot-e2e', ciAddress: '10.123.0.1', hostAddress: '10.123.0.2', sshPort: 2222, s3Port: 9000 } as const;
export const BACKUP_BUCKET = 'clawdbot-e2e-backups';
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
  s3: LocalS3;
  host: TestHost;
  /** Starts a fresh test host (empty disk, empty image store) in place of the current one. */
  replaceHost(): Promise<TestHost>;
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

    // The S3 server listens on the CI end of the veth pair, so it comes and goes with the host
    // (its objects stay on disk).
    const s3Dir = path.join(runDir, 's3');
    mkdirSync(s3Dir, { recursive: true });
    let host: TestHost | undefined;
    let s3: LocalS3 | undefined;
    const startHost = async (): Promise<void> => {
      host = await startTestHost({
        runDir: mkdtempSync(path.join(runDir, 'host-')),
        name: NETWORK.name,
        ciAddress: NETWORK.ciAddress,
        hostAddress: NETWORK.hostAddress,
        sshPort: NETWORK.sshPort,
        // What the instance role and a clean shell are on a real host.
        sessionEnv: { AWS_SHARED_CREDENTIALS_FILE: path.join(s3Dir, 'credentials'), AWS_CONFIG_FILE: '/dev/null' },
      });
      s3 = await startS3({ dir: s3Dir, address: NETWORK.ciAddress, port: NETWORK.s3Port, bucket: BACKUP_BUCKET });
      // A real host pulls Caddy and Redis from a registry; this one gets them from the builder.
      await run('sh', ['-c', 'docker save "$0" | DOCKER_HOST="$1" docker load', E2E_IMAGES.services, host.dockerHost], { env: builder.env });
    };
    const stopHost = async (): Promise<void> => {
      await s3?.stop();
      s3 = undefined;
      await host?.stop();
      host = undefined;
    };
    await timer.time('test host (netns, sshd, podman)', startHost);
    stops.push(stopHost);

    const environment: E2eEnvironment = {
      runDir,
      builder,
      get s3() {
        if (!s3) throw new Error('no S3 server is running');
        return s3;
      },
      get host() {
        if (!host) throw new Error('no test host is running');
        return host;
      },
      replaceHost: async () => {
        await stopHost();
        await startHost();
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
