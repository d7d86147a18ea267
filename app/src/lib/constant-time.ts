import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether a secret, token or signature a caller sent is the expected one. Digests are compared
 * in constant time, so neither the length nor a matching prefix leaks through timing.
 */
export function sameSecret(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(sha256(given), sha256(expected));
}
