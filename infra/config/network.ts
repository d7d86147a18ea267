import { PORTS } from '../../app/src/contract';
import type { CidrsByFamily, SshAccess } from '../../components/single-host/network';
import { byFamily, parseCidr } from './cidr';
import type { ConfigReader, Environment } from './reader';

/** The EC2 host's network: its VPC, and who may reach SSH and the public ports. */
export interface NetworkConfig {
  vpc: 'default' | 'dedicated';
  sshAccess: SshAccess;
  sshPort: number;
  /** Empty with sshAccess ssm. */
  sshAllowedCidrs: CidrsByFamily;
  publicCidrs: CidrsByFamily;
}

/**
 * The widest SSH source ranges prod accepts, by address family. An IPv4 /8 is already 16.7
 * million addresses and an IPv6 /32 a whole provider's allocation, while an office or VPN range is
 * far narrower; anything wider (0.0.0.0/1 + 128.0.0.0/1 included) is the internet in disguise.
 */
export const PROD_SSH_MIN_PREFIX = { 4: 8, 6: 32 } as const;

export function readNetwork(config: ConfigReader, environment: Environment): NetworkConfig {
  const sshPort = config.integer('sshPort', 1, 65535);
  if (sshPort === 22) config.fail('sshPort', '22 is the port every scanner tries; pick another, e.g. 2222');
  const taken = Object.entries(PORTS).find(([, port]) => port === sshPort);
  if (taken) config.fail('sshPort', `${sshPort} is the gateway's ${taken[0]} port; pick another`);

  const sshAccess = config.oneOf('sshAccess', ['ssm', 'direct']);
  const sshAllowedCidrs = readSshAllowedCidrs(config, sshAccess);
  for (const cidr of environment === 'prod' ? sshAllowedCidrs : []) {
    const { family, prefixLength } = parseCidr(cidr)!;
    const widest = PROD_SSH_MIN_PREFIX[family];
    if (prefixLength < widest) {
      const reach = prefixLength === 0 ? 'the whole internet' : `more than an IPv${family} /${widest}`;
      config.fail('sshAllowedCidrs', `${cidr} opens SSH to ${reach}, which prod refuses (no office or VPN range is that wide); list your office or VPN ranges`);
    }
  }
  return {
    vpc: config.oneOf('vpc', ['default', 'dedicated']),
    sshAccess,
    sshPort,
    sshAllowedCidrs: byFamily(sshAllowedCidrs),
    publicCidrs: byFamily(config.cidrs('publicCidrs')),
  };
}

/** ssm opens no SSH port, so ranges there would be a false promise; direct needs at least one. */
function readSshAllowedCidrs(config: ConfigReader, sshAccess: SshAccess): string[] {
  const listed = config.optionalList('sshAllowedCidrs');
  if (sshAccess === 'ssm') {
    if (listed.length > 0) config.fail('sshAllowedCidrs', 'must be empty with sshAccess ssm (SSH has no inbound rule; Session Manager is the way in); set sshAccess to direct to open SSH to these ranges');
    return [];
  }
  if (listed.length === 0) config.fail('sshAllowedCidrs', 'is required with sshAccess direct: the office or VPN ranges that may reach SSH (or use sshAccess ssm, which needs none)');
  return config.cidrs('sshAllowedCidrs');
}
