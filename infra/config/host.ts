import type { ConfigReader, Environment } from './reader';

/** The 2 vCPU / 4 GiB types the stack is sized and priced for, with the AMI architecture of each. */
export const INSTANCE_TYPES = {
  't4g.medium': 'arm64',
  't3.medium': 'amd64',
  't3a.medium': 'amd64',
} as const;

export type InstanceType = keyof typeof INSTANCE_TYPES;
export type Architecture = (typeof INSTANCE_TYPES)[InstanceType];

/** The EC2 instance the stack builds. */
export interface HostConfig {
  instanceType: InstanceType;
  architecture: Architecture;
  rootVolumeSizeGb: number;
  sshPublicKey: string;
  terminationProtection: boolean;
}

/** An OpenSSH public key line: a deploy key, or a host key to pin. */
export const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

export function readHost(config: ConfigReader, environment: Environment): HostConfig {
  const instanceType = config.string('instanceType');
  if (!(instanceType in INSTANCE_TYPES)) {
    config.fail('instanceType', `${instanceType} is not one of the 2 vCPU / 4 GiB types ${Object.keys(INSTANCE_TYPES).join(', ')}`);
  }
  const sshPublicKey = config.optionalString('sshPublicKey') ?? config.fail('sshPublicKey', 'is required for target aws: the public key installed for the ubuntu user');
  if (!SSH_PUBLIC_KEY.test(sshPublicKey)) {
    config.fail('sshPublicKey', 'is not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... you@laptop")');
  }
  return {
    instanceType: instanceType as InstanceType,
    architecture: INSTANCE_TYPES[instanceType as InstanceType],
    rootVolumeSizeGb: config.integer('rootVolumeSizeGb', 50, 16384),
    sshPublicKey,
    terminationProtection: environment === 'prod',
  };
}
