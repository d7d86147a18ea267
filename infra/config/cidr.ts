import * as net from 'node:net';
import * as ipaddr from 'ipaddr.js';

export interface Cidr {
  family: 4 | 6;
  prefixLength: number;
  /** The range written with its network address, e.g. 203.0.113.0/24 for 203.0.113.5/24. */
  network: string;
  /** True when the address has bits set beyond the prefix, as in 203.0.113.5/24. */
  hasHostBits: boolean;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr);
  if (!match) return undefined;
  // net.isIP is strict (no octal or shortened IPv4 forms); ipaddr.js does the arithmetic.
  const family = net.isIP(match[1]);
  const prefixLength = Number(match[2]);
  if (family === 0 || prefixLength > (family === 4 ? 32 : 128)) return undefined;
  const address = ipaddr.parse(match[1]);
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return {
    family: family as 4 | 6,
    prefixLength,
    network: `${network.toString()}/${prefixLength}`,
    hasHostBits: address.toNormalizedString() !== network.toNormalizedString(),
  };
}

/** Splits valid CIDRs by address family, as the security group takes them. */
export function byFamily(cidrs: string[]): { ipv4: string[]; ipv6: string[] } {
  return {
    ipv4: cidrs.filter((cidr) => parseCidr(cidr)?.family === 4),
    ipv6: cidrs.filter((cidr) => parseCidr(cidr)?.family === 6),
  };
}
