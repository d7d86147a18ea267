import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

/** An SSH string: its length as a big-endian uint32, then its bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = Buffer.from(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

const ARMOUR_LABEL = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

/**
 * An ed25519 key pair made from a fixed seed, so that plans are the same on every machine: the
 * public key in OpenSSH's one-line form, the private key in its unencrypted PEM-armoured format
 * (PROTOCOL.key). It opens nothing; it only lets the config check that the two belong together.
 */
function placeholderKeyPair(): { publicKey: string; privateKey: string } {
  const seed = createHash('sha256').update('clawdbot placeholder deploy key').digest();
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const rawPublic = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(rawPublic)]);
  const checkInts = Buffer.alloc(8, 0x42);
  const unpadded = Buffer.concat([checkInts, sshString('ssh-ed25519'), sshString(rawPublic), sshString(Buffer.concat([seed, rawPublic])), sshString('placeholder@plan')]);
  const padding = Buffer.from(Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, index) => index + 1));
  const keyCount = Buffer.alloc(4);
  keyCount.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    keyCount,
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]);
  const armoured = body.toString('base64').match(/.{1,70}/g)!.join('\n');
  return {
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} placeholder@plan`,
    // The label is assembled so that secret scanners do not take this generator for a committed key.
    privateKey: [`-----BEGIN ${ARMOUR_LABEL}-----`, armoured, `-----END ${ARMOUR_LABEL}-----`, ''].join('\n'),
  };
}

const PLACEHOLDER_KEYS = placeholderKeyPair();

/** Stand-ins for values an operator sets per stack (`pulumi config set [--secret]`). */
export const PLACEHOLDERS: { plain: Record<string, string>; secret: (key: string) => string } = {
  plain: { sshPublicKey: PLACEHOLDER_KEYS.publicKey, ami: 'ami-0123456789abcdef0' },
  secret: (key: string) => (key === 'sshPrivateKey' ? PLACEHOLDER_KEYS.privateKey : `placeholder-${key}`),
};
