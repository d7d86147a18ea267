import * as net from 'node:net';
import { DNS_LABEL } from './dns';
import { readHost, SSH_PUBLIC_KEY, type Architecture, type HostConfig } from './host';
import { readMonitoring, type MonitoringConfig } from './monitoring';
import { readNetwork, type NetworkConfig } from './network';
import type { ConfigReader, Environment } from './reader';

/** An EC2 host that the stack builds, with its network, DNS, alarms and backups. */
export interface AwsTarget {
  kind: 'aws';
  network: NetworkConfig;
  host: HostConfig;
  monitoring: MonitoringConfig;
}

/** A machine of yours (at home, a VM) that the deployment ships to over SSH. */
export interface MachineTarget {
  kind: 'ssh';
  host: string;
  port: number;
  user: string;
  architecture: Architecture;
  /** The machine's SSH host key (authorized_keys form): every connection is pinned to it. */
  hostKey: string;
}

export type Target = AwsTarget | MachineTarget;

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/**
 * Host keys @pulumi/command 1.2.1 can pin: it parses `hostKey` with ssh.ParseAuthorizedKey and
 * offers exactly that key's type as host key algorithm (docs/infra.md, "The host key is pinned").
 */
const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

/** Where the bot runs, as the `target` key names it. */
export function readTarget(config: ConfigReader, environment: Environment): Target {
  return config.oneOf('target', ['aws', 'ssh']) === 'aws' ? readAwsTarget(config, environment) : readMachineTarget(config);
}

function readAwsTarget(config: ConfigReader, environment: Environment): AwsTarget {
  const monitoring = readMonitoring(config);
  return { kind: 'aws', network: readNetwork(config, environment), host: readHost(config, environment), monitoring };
}

/** An IP address, or a host name of DNS labels (a single label, e.g. a home machine's name, included). */
function isHostAddress(value: string): boolean {
  return net.isIP(value) !== 0 || (value.length <= 253 && value.toLowerCase().split('.').every((label) => DNS_LABEL.test(label)));
}

function readMachineTarget(config: ConfigReader): MachineTarget {
  const host = config.optionalString('targetHost') ?? config.fail('targetHost', 'is required for target ssh: the address or DNS name of your machine');
  if (!isHostAddress(host)) config.fail('targetHost', `${JSON.stringify(host)} is not an IP address or a DNS name`);
  const user = config.optionalString('targetUser') ?? config.fail('targetUser', 'is required for target ssh: the user the deployment logs in as');
  if (!USER_NAME.test(user)) config.fail('targetUser', `${JSON.stringify(user)} is not a user name`);
  const hostKey =
    config.optionalString('targetHostKey') ??
    config.fail('targetHostKey', 'is required for target ssh: the machine\'s host key, e.g. the contents of /etc/ssh/ssh_host_ed25519_key.pub on it, so that no other machine is trusted with the deploy');
  if (!SSH_PUBLIC_KEY.test(hostKey)) config.fail('targetHostKey', 'is not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... root@machine")');
  const keyType = hostKey.split(' ')[0];
  if (!HOST_KEY_TYPES.includes(keyType)) {
    config.fail(
      'targetHostKey',
      `is an ${keyType} key: @pulumi/command offers the server only the pinned key's type as host key algorithm, and OpenSSH 8.8 or later refuses ssh-rsa (SHA-1) ` +
        'while security-key types are no host keys; give the machine\'s ed25519 (or ECDSA) key, e.g. /etc/ssh/ssh_host_ed25519_key.pub',
    );
  }
  return { kind: 'ssh', host, port: config.integer('targetPort', 1, 65535), user, architecture: config.oneOf('targetArchitecture', ['amd64', 'arm64']), hostKey };
}
