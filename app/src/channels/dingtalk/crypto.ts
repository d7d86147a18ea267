import crypto from 'node:crypto';
import { sameSecret } from '../../lib/constant-time';

// DingTalk's two HTTP schemes. No Node SDK covers them (dingtalk-stream only speaks the
// long connection), so they are written here from the platform's documentation.

/** Robot callbacks: sign = Base64(HmacSHA256(key = app secret, data = timestamp + "\n" + app secret)). */
export function robotSignature(timestamp: string, appSecret: string): string {
  return crypto.createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');
}

/** Why an encrypted event was refused. */
export class EventCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventCryptoError';
  }
}

// The event subscription pads to 32-byte blocks (PKCS#7 with block size 32), not AES's 16,
// so Node's automatic padding is turned off and the padding is applied here.
const PAD_BLOCK = 32;
const RANDOM_PREFIX = 16;
const LENGTH_FIELD = 4;

function pad(data: Buffer): Buffer {
  const count = PAD_BLOCK - (data.length % PAD_BLOCK);
  return Buffer.concat([data, Buffer.alloc(count, count)]);
}

function unpad(data: Buffer): Buffer {
  const count = data.length ? data[data.length - 1] : 0;
  if (count < 1 || count > PAD_BLOCK || count > data.length) throw new EventCryptoError('bad padding');
  for (let i = data.length - count; i < data.length; i++) {
    if (data[i] !== count) throw new EventCryptoError('bad padding');
  }
  return data.subarray(0, data.length - count);
}

/**
 * The encrypted HTTP event subscription:
 * - msg_signature = hex SHA1 of [token, timestamp, nonce, encrypt] sorted as strings and joined;
 * - AES-256-CBC with key = base64-decode(aes_key + "=") and IV = the key's first 16 bytes;
 * - plaintext = 16 random bytes + 4-byte big-endian length + message + owner key (the app key).
 */
export class DingtalkEventCrypto {
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(
    private readonly token: string,
    aesKey: string,
    private readonly ownerKey: string,
  ) {
    this.key = Buffer.from(`${aesKey}=`, 'base64');
    if (this.key.length !== 32) throw new EventCryptoError('the AES key must decode to 32 bytes');
    this.iv = this.key.subarray(0, 16);
  }

  signature(timestamp: string, nonce: string, encrypt: string): string {
    const joined = [this.token, timestamp, nonce, encrypt].sort().join('');
    return crypto.createHash('sha1').update(joined).digest('hex');
  }

  verify(signature: string, timestamp: string, nonce: string, encrypt: string): boolean {
    return sameSecret(signature.toLowerCase(), this.signature(timestamp, nonce, encrypt));
  }

  /** `random` is the 16-byte prefix; fixed only by known-answer tests. */
  encrypt(message: string, random: Buffer = crypto.randomBytes(RANDOM_PREFIX)): string {
    if (random.length !== RANDOM_PREFIX) throw new EventCryptoError('the random prefix must be 16 bytes');
    const body = Buffer.from(message, 'utf8');
    const length = Buffer.alloc(LENGTH_FIELD);
    length.writeUInt32BE(body.length);
    const plain = pad(Buffer.concat([random, length, body, Buffer.from(this.ownerKey, 'utf8')]));
    const cipher = crypto.createCipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
  }

  /** Returns the message; throws EventCryptoError when it is malformed or for another owner. */
  decrypt(encrypt: string): string {
    const data = Buffer.from(encrypt, 'base64');
    if (data.length === 0 || data.length % PAD_BLOCK !== 0) throw new EventCryptoError('bad ciphertext length');
    const decipher = crypto.createDecipheriv('aes-256-cbc', this.key, this.iv).setAutoPadding(false);
    const plain = unpad(Buffer.concat([decipher.update(data), decipher.final()]));
    if (plain.length < RANDOM_PREFIX + LENGTH_FIELD) throw new EventCryptoError('plaintext too short');
    const length = plain.readUInt32BE(RANDOM_PREFIX);
    const start = RANDOM_PREFIX + LENGTH_FIELD;
    if (start + length > plain.length) throw new EventCryptoError('bad message length');
    const owner = plain.subarray(start + length).toString('utf8');
    if (owner !== this.ownerKey) throw new EventCryptoError('the event is for another app');
    return plain.subarray(start, start + length).toString('utf8');
  }

  /** The reply every event expects: an encrypted "success", signed. */
  success(now: number = Date.now()): { msg_signature: string; timeStamp: string; nonce: string; encrypt: string } {
    const timeStamp = String(now);
    const nonce = crypto.randomBytes(8).toString('hex');
    const encrypt = this.encrypt('success');
    return { msg_signature: this.signature(timeStamp, nonce, encrypt), timeStamp, nonce, encrypt };
  }
}
