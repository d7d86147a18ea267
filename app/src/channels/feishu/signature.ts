import crypto from 'node:crypto';

/**
 * X-Lark-Signature: hex SHA-256 of timestamp + nonce + encrypt key + the raw body bytes.
 * The SDK hashes re-serialized JSON instead, which breaks on any difference in whitespace or
 * key order, so the check is made here over the bytes Feishu sent.
 */
export function feishuSignature(timestamp: string, nonce: string, encryptKey: string, rawBody: Buffer): string {
  return crypto.createHash('sha256').update(timestamp + nonce + encryptKey, 'utf8').update(rawBody).digest('hex');
}
