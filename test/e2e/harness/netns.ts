import { existsSync } from 'node:fs';
import { run } from './exec';

// A network namespace with its own address, joined to the CI side (the root namespace) by a veth
// pair on a /24 of its own: the network part of the e2e test host. Processes join it with
// `nsenter --net=<path>` (not `ip netns exec`, which remounts /sys and hides the cgroup mounts
// Podman needs).

export interface NetnsOptions {
  /** `ip netns` name, also the prefix of the veth pair (at most 12 characters: `<name>-ci` is an interface name). */
  name: string;
  ciAddress: string;
  hostAddress: string;
}

export interface Netns {
  name: string;
  /** For `nsenter --net=`. */
  path: string;
  ciAddress: string;
  address: string;
  delete(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

export async function deleteNetns(name: string): Promise<void> {
  if (existsSync(`/run/netns/${name}`)) await ip('netns', 'delete', name);
}

/** Creates the namespace (replacing a leftover one of the same name); deletes it again if a step fails. */
export async function createNetns({ name, ciAddress, hostAddress }: NetnsOptions): Promise<Netns> {
  await deleteNetns(name);
  await ip('netns', 'add', name);
  try {
    await ip('link', 'add', `${name}-ci`, 'type', 'veth', 'peer', 'name', `${name}-h`);
    await ip('link', 'set', `${name}-h`, 'netns', name);
    await ip('addr', 'add', `${ciAddress}/24`, 'dev', `${name}-ci`);
    await ip('link', 'set', `${name}-ci`, 'up');
    await ip('-n', name, 'addr', 'add', `${hostAddress}/24`, 'dev', `${name}-h`);
    await ip('-n', name, 'link', 'set', `${name}-h`, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'route', 'add', 'default', 'via', ciAddress);
  } catch (error) {
    await deleteNetns(name);
    throw error;
  }
  return { name, path: `/run/netns/${name}`, ciAddress, address: hostAddress, delete: () => deleteNetns(name) };
}
