import * as lark from '@larksuiteoapi/node-sdk';
import crypto from 'node:crypto';
import { DingtalkEventCrypto, EventCryptoError, robotSignature } from '../../app/src/channels/dingtalk/crypto';
import { feishuSignature } from '../../app/src/channels/feishu/signature';

// Expected values were derived outside this code base, step by step from the documented
// algorithms, with the openssl command line (see each comment).

describe('DingTalk robot callback signature', () => {
  it('is Base64(HmacSHA256(secret, timestamp + "\\n" + secret))', () => {
    // printf '%s\n%s' 1700000000000 SEC-robot-secret-for-tests | openssl dgst -sha256 -hmac SEC-robot-secret-for-tests -binary | base64
    expect(robotSignature('1700000000000', 'SEC-robot-secret-for-tests')).toBe('5GOuJnKMHT3fUemRR8QiS8VqQoIJPr/IxZCXhH+LRy0=');
  });

  it('changes with the timestamp and the secret', () => {
    const base = robotSignature('1700000000000', 'secret-a');
    expect(robotSignature('1700000000001', 'secret-a')).not.toBe(base);
    expect(robotSignature('1700000000000', 'secret-b')).not.toBe(base);
  });
});

describe('DingTalk event subscription crypto', () => {
  const aesKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
  const owner = 'dingappkey123';
  const events = new DingtalkEventCrypto('tokenxyz', aesKey, owner);

  // plaintext = "0123456789abcdef" + uint32be(25) + '{"EventType":"check_url"}' + "dingappkey123", padded with
  // six 0x06 bytes to 64; openssl enc -aes-256-cbc -nopad -K <base64d(aesKey+"=")> -iv <first 16 bytes of it>
  const checkUrl = 'Q3stYC6hdFzMh9T8HCvyDLV8JeomtQuxZLosYEI28mjzSD5UpK2hp0QUc4H6M/N5cCUgKExrVePVoUNmDfSemg==';
  // "fedcba9876543210" + uint32be(7) + "success" + "dingappkey123" is 40 bytes: PKCS#7 with a
  // 32-byte block pads 24 bytes of 0x18 (a 16-byte block would pad 8), giving 64.
  const success = 'DpQeJfnf/MGZ/+GTIspwVDPodrl+l+35PT3ArKrLkoyPZWE6qe14fzfKJsEf/nsutXXYOkebSlecnbnpTuK2yg==';

  it('encrypts to the known answer for a fixed random prefix', () => {
    expect(events.encrypt('{"EventType":"check_url"}', Buffer.from('0123456789abcdef'))).toBe(checkUrl);
    expect(events.encrypt('success', Buffer.from('fedcba9876543210'))).toBe(success);
  });

  it('decrypts the known answers', () => {
    expect(events.decrypt(checkUrl)).toBe('{"EventType":"check_url"}');
    expect(events.decrypt(success)).toBe('success');
  });

  it('signs as hex SHA1 of the sorted [token, timestamp, nonce, encrypt]', () => {
    // printf '%s' <the four strings sorted and joined> | openssl dgst -sha1
    expect(events.signature('1700000000123', 'nonce42', checkUrl)).toBe('15e1358f830d81e1b46db4428d71eb1f8910043c');
    expect(events.verify('15e1358f830d81e1b46db4428d71eb1f8910043c', '1700000000123', 'nonce42', checkUrl)).toBe(true);
    expect(events.verify('15e1358f830d81e1b46db4428d71eb1f8910043d', '1700000000123', 'nonce42', checkUrl)).toBe(false);
  });

  it('round-trips messages of every length around the block boundaries', () => {
    for (let length = 0; length <= 70; length++) {
      const message = 'x'.repeat(length);
      const encrypted = events.encrypt(message);
      expect(Buffer.from(encrypted, 'base64').length % 32).toBe(0);
      expect(events.decrypt(encrypted)).toBe(message);
    }
    expect(events.decrypt(events.encrypt('钉钉 ✓ 事件'))).toBe('钉钉 ✓ 事件');
  });

  it('refuses ciphertext for another app, with a wrong key, or tampered', () => {
    const otherOwner = new DingtalkEventCrypto('tokenxyz', aesKey, 'other-app');
    expect(() => otherOwner.decrypt(checkUrl)).toThrow(EventCryptoError);
    const otherKey = new DingtalkEventCrypto('tokenxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg', owner);
    expect(() => otherKey.decrypt(checkUrl)).toThrow(EventCryptoError);
    const tampered = Buffer.from(checkUrl, 'base64');
    tampered[tampered.length - 1] ^= 0xff;
    expect(() => events.decrypt(tampered.toString('base64'))).toThrow(EventCryptoError);
    expect(() => events.decrypt('bm90IGJsb2Nrcw==')).toThrow(EventCryptoError);
  });

  it('answers with an encrypted, signed "success"', () => {
    const answer = events.success(1700000000999);
    expect(answer.timeStamp).toBe('1700000000999');
    expect(events.verify(answer.msg_signature, answer.timeStamp, answer.nonce, answer.encrypt)).toBe(true);
    expect(events.decrypt(answer.encrypt)).toBe('success');
  });
});

describe('Feishu crypto', () => {
  it('decrypts the example from the Feishu documentation with the SDK cipher', () => {
    // Feishu's "Encrypt Key" docs: key "test key" decrypts this to "hello world" (checked with openssl too).
    expect(new lark.AESCipher('test key').decrypt('P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=')).toBe('hello world');
  });

  it('signs as hex SHA-256 of timestamp + nonce + encrypt key + the raw body bytes', () => {
    const raw = Buffer.from('{"schema":"2.0", "header":{"event_id":"e1"}}');
    // printf '%s' '1700000000n0ncefs-encrypt-key{"schema":"2.0", "header":{"event_id":"e1"}}' | openssl dgst -sha256
    expect(feishuSignature('1700000000', 'n0nce', 'fs-encrypt-key', raw)).toBe('d29735380d3f086815bf347292e6e74e4192e6ab3642641081caba20c4ad81ef');
  });

  it('hashes the bytes as sent, so re-serialized JSON does not match', () => {
    const raw = Buffer.from('{"schema":"2.0", "header":{"event_id":"e1"}}');
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw.toString())));
    expect(feishuSignature('1', 'n', 'k', reserialized)).not.toBe(feishuSignature('1', 'n', 'k', raw));
    expect(feishuSignature('1', 'n', 'k', raw)).toBe(crypto.createHash('sha256').update(Buffer.concat([Buffer.from('1nk'), raw])).digest('hex'));
  });
});
