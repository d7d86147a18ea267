import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { HOST_PATHS } from '../../../app/src/contract';
import { runOverSsh, type SshTarget } from '../../../components/scripts/ssh';
import { run, waitFor } from './exec';
import { createNetns } from './netns';
import { startPodman, type IsolatedPodman } from './podman';

// The e2e test host: a network namespace with its own address, sshd on a custom port with
// key-only auth (a throwaway key per run), and Podman behind a Docker-compatible socket so that
// the docker CLI and compose drive it. sshd and Podman share a mount namespace in which
// HOST_PATHS.root is a private dir, so the deploy steps use the real host paths.

export interface TestHostOptions {
  runDir: string;
  /** `ip netns` name, also the prefix of the veth pair. */
  name: string;
  ciAddress: string;
  hostAddress: string;
  sshPort: number;
  /** Environment of every SSH session (what the instance role and Docker context are on a real host). */
  sessionEnv?: Record<string, string>;
  /**
   * The dir that becomes HOST_PATHS.root: a replaced host's `rootDir`, as the stack re-attaches
   * the data volume mounted there to the new instance. A new, empty one when unset.
   */
  dataVolume?: string;
}

export interface TestHost {
  address: string;
  ciAddress: string;
  ssh: SshTarget;
  /** The private dir that is HOST_PATHS.root inside the test host: its data volume. */
  rootDir: string;
  /** The host's Docker API socket, reachable from the CI side too. */
  dockerHost: string;
  stop(): Promise<void>;
}

const SHIM = path.join(__dirname, 'docker-compose-shim.sh');
/** The kernel settings cloud-init gives an AWS host; the ones it holds are per network namespace. */
const HOST_SYSCTL = path.join(__dirname, '..', '..', '..', 'components', 'single-host', 'templates', 'sysctl.conf');

export async function startTestHost(options: TestHostOptions): Promise<TestHost> {
  const { runDir, name, ciAddress, hostAddress, sshPort } = options;
  const dir = path.join(runDir, 'host');
  mkdirSync(dir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  // Runs once, however often it is called.
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: Error) => console.error(`test host cleanup: ${error.message}`));
  };

  try {
    const netns = await createNetns({ name, ciAddress, hostAddress });
    cleanups.push(() => netns.delete());
    await run('nsenter', [`--net=${netns.path}`, 'sysctl', '--quiet', '--load', HOST_SYSCTL]);

    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'clawdbot-e2e', '-f', path.join(dir, 'client_key')]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
    copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));

    const dockerConfig = path.join(dir, 'docker-config');
    mkdirSync(path.join(dockerConfig, 'cli-plugins'), { recursive: true });
    copyFileSync(SHIM, path.join(dockerConfig, 'cli-plugins', 'docker-compose'));
    chmodSync(path.join(dockerConfig, 'cli-plugins', 'docker-compose'), 0o755);

    const podmanDir = path.join(dir, 'podman');
    const sessionEnv = { DOCKER_HOST: `unix://${podmanDir}/podman.sock`, DOCKER_CONFIG: dockerConfig, ...options.sessionEnv };
    const sshdConfig = path.join(dir, 'sshd_config');
    writeFileSync(
      sshdConfig,
      [
        `Port ${sshPort}`,
        `ListenAddress ${hostAddress}`,
        `HostKey ${dir}/host_key`,
        `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        'AuthenticationMethods publickey',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        // The run dir is not a home dir; its modes are not sshd's business here.
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        `SetEnv ${Object.entries(sessionEnv)
          .map(([key, value]) => `${key}=${value}`)
          .join(' ')}`,
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    await run('/usr/sbin/sshd', ['-t', '-f', sshdConfig]);

    const rootDir = options.dataVolume ?? path.join(dir, 'root');
    const createdMountPoint = !existsSync(HOST_PATHS.root);
    const podman: IsolatedPodman = await startPodman({
      dir: podmanDir,
      netns: name,
      binds: [[rootDir, HOST_PATHS.root]],
      daemons: [['/usr/sbin/sshd', '-D', '-e', '-f', sshdConfig]],
    });
    cleanups.push(async () => {
      await podman.stop();
      // The mount point we made on the real file system for the private root.
      if (createdMountPoint && readdirSync(HOST_PATHS.root).length === 0) rmdirSync(HOST_PATHS.root);
    });

    const privateKey = readFileSync(path.join(dir, 'client_key'), 'utf8');
    const hostKey = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim();
    const ssh: SshTarget = { host: hostAddress, port: sshPort, user: 'root', privateKey, hostKey };
    await waitFor('sshd on the test host', async () => (await runOverSsh(ssh, 'true'), true), 20_000);
    return { address: hostAddress, ciAddress, ssh, rootDir, dockerHost: podman.dockerHost, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
