import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { run, startDaemon, waitFor } from './exec';

// A rootful Podman service in its own mount and PID namespaces (and optionally a network
// namespace), behind a Docker-compatible socket. Everything it starts, containers included,
// lives in that PID namespace: stopping kills the namespace's init and with it every process.
//
// Podman is set up as the brief asks: runc, cgroupfs, ulimits lowered to what this kind of
// machine allows (nofile 20000, nproc 32768), and storage, runtime state, network config,
// /dev/shm (the lock segment), /run/netns and /run/containers all private to this instance.

export interface PodmanOptions {
  /** Where config, storage, sockets and logs go; removed by the caller. */
  dir: string;
  /** Network namespace (`ip netns` name) to run in; the host's when unset. */
  netns?: string;
  /** Host paths to replace with a private dir inside the namespace: [private dir, path]. */
  binds?: Array<[string, string]>;
  /** Further daemons started beside the service, inside the namespaces. */
  daemons?: string[][];
}

export interface IsolatedPodman {
  /** DOCKER_HOST value for the docker CLI. */
  dockerHost: string;
  /** Environment for the docker CLI against this instance. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Podman refuses a runroot longer than 50 characters (in its cleanup process), so runtime state goes here. */
export const RUNTIME_PARENT = '/run';
export const RUNTIME_PREFIX = 'clawdbot-e2e-';

function writeConfig(dir: string, runtimeDir: string): { containersConf: string; storageConf: string } {
  const containersConf = path.join(dir, 'containers.conf');
  const storageConf = path.join(dir, 'storage.conf');
  for (const sub of ['storage', 'networks', 'volumes']) mkdirSync(path.join(dir, sub), { recursive: true });
  mkdirSync(path.join(runtimeDir, 'tmp'), { recursive: true });
  writeFileSync(
    containersConf,
    `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_backend = "netavark"
network_config_dir = "${dir}/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
tmp_dir = "${runtimeDir}/tmp"
volume_path = "${dir}/volumes"
`,
  );
  writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${runtimeDir}/run"\n`);
  return { containersConf, storageConf };
}

function shellWords(words: string[]): string {
  return words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
}

export async function startPodman(options: PodmanOptions): Promise<IsolatedPodman> {
  const { dir } = options;
  mkdirSync(dir, { recursive: true });
  const runtimeDir = mkdtempSync(path.join(RUNTIME_PARENT, RUNTIME_PREFIX));
  const { containersConf, storageConf } = writeConfig(dir, runtimeDir);
  const socket = path.join(dir, 'podman.sock');
  // Network namespaces of containers, and netavark's IPAM and aardvark-dns state, live under
  // fixed paths in /run: private copies keep them from outliving the run or meeting another's.
  const binds: Array<[string, string]> = [
    [path.join(runtimeDir, 'netns'), '/run/netns'],
    [path.join(runtimeDir, 'containers'), '/run/containers'],
    ...(options.binds ?? []),
  ];
  for (const [source, target] of binds) {
    mkdirSync(source, { recursive: true });
    mkdirSync(target, { recursive: true });
  }

  const init = path.join(dir, 'init.sh');
  writeFileSync(
    init,
    [
      '#!/bin/sh',
      'set -eu',
      'mount -t tmpfs -o mode=1777 shm /dev/shm',
      ...binds.map(([source, target]) => `mount --bind ${shellWords([source, target])}`),
      `export CONTAINERS_CONF=${shellWords([containersConf])} CONTAINERS_STORAGE_CONF=${shellWords([storageConf])}`,
      `podman system service --time=0 ${shellWords([`unix://${socket}`])} >${shellWords([path.join(dir, 'podman.log')])} 2>&1 &`,
      ...(options.daemons ?? []).map((daemon, index) => `${shellWords(daemon)} >${shellWords([path.join(dir, `daemon-${index}.log`)])} 2>&1 &`),
      'wait',
      '',
    ].join('\n'),
  );

  // setpriv: if this test process dies, the kernel kills the chain; unshare --kill-child then
  // kills the PID namespace's init, which takes every process of the namespace with it.
  const namespaces = ['unshare', '--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private', '--', 'catatonit', '--', '/bin/sh', init];
  const command = ['--pdeathsig', 'KILL', '--', ...(options.netns ? ['nsenter', `--net=/run/netns/${options.netns}`, '--'] : []), ...namespaces];
  const log = openSync(path.join(dir, 'init.log'), 'a');
  const pid = startDaemon('setpriv', command, log);
  closeSync(log);

  const dockerHost = `unix://${socket}`;
  const env = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '0' };
  const stop = async (): Promise<void> => {
    // Removing the containers through Podman first lets it release their cgroups, which are
    // not namespaced; killing the namespace then takes whatever is left.
    const containers = (await run('docker', ['ps', '-aq', '--no-trunc'], { env }).catch(() => '')).split('\n').filter(Boolean);
    if (containers.length > 0) await run('docker', ['rm', '-f', ...containers], { env }).catch(() => '');
    // The namespace's init is unshare's child; once it is gone, so is every process it held.
    const namespaceInit = childPids(pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitFor('the podman namespace to exit', async () => ![pid, ...namespaceInit].some(isAlive), 30_000);
    for (const id of containers) removeCgroups(`libpod_parent/libpod-${id}`);
    rmSync(runtimeDir, { recursive: true, force: true });
  };
  try {
    await waitFor('the podman service', async () => (await run('docker', ['version', '--format', '{{.Server.Version}}'], { env })).length > 0, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dockerHost, env, stop };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces) start with state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

/** Removes a cgroup (and its children) from every v1 hierarchy where it is left. */
function removeCgroups(relative: string): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', hierarchy, relative);
    if (!existsSync(dir)) continue;
    const remove = (cgroup: string): void => {
      for (const entry of readdirSync(cgroup, { withFileTypes: true })) if (entry.isDirectory()) remove(path.join(cgroup, entry.name));
      try {
        rmdirSync(cgroup);
      } catch {
        // still busy: leave it to the kernel's release
      }
    };
    remove(dir);
  }
}
