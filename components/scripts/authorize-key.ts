import { asCommand, renderScript } from './render';

/** Makes `publicKey` (one OpenSSH line) the deploy user's only authorized key. A public key: plain in the command. */
export function authorizeKeyCommand(publicKey: string): string {
  return asCommand(renderScript('authorize-key', { AUTHORIZED_KEY: publicKey }));
}
