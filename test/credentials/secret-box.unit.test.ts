import { describe, expect, it } from 'vitest';
import { SECRET_BOX_KEY_LABEL, deriveKey, openSecret, sealSecret } from '../../src/credentials/secret-box.js';

const SERVER_SECRET = 'unit-test-secret-4f9c2a7e1b8d3056-ZqXwVuTs';
const key = deriveKey(SERVER_SECRET, SECRET_BOX_KEY_LABEL);
const PLAIN = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP secrets at rest (AES-256-GCM)', () => {
  it('round-trips, and the sealed form does not contain the secret', () => {
    const sealed = sealSecret(key, PLAIN, 'totp:user-1');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(sealed).not.toContain(PLAIN);
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain(PLAIN);
    expect(openSecret(key, sealed, 'totp:user-1')).toBe(PLAIN);
  });

  it('uses a random IV: the same secret seals differently each time', () => {
    const a = sealSecret(key, PLAIN, 'totp:user-1');
    const b = sealSecret(key, PLAIN, 'totp:user-1');
    expect(a).not.toBe(b);
    expect(Buffer.from(a.slice(3), 'base64url').subarray(0, 12)).not.toEqual(Buffer.from(b.slice(3), 'base64url').subarray(0, 12));
  });

  it('detects tampering with any byte (IV, ciphertext or tag)', () => {
    const sealed = sealSecret(key, PLAIN, 'totp:user-1');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const changed = Buffer.from(raw);
      changed[i] = changed[i]! ^ 0x01;
      expect(openSecret(key, `v1.${changed.toString('base64url')}`, 'totp:user-1')).toBeNull();
    }
    expect(openSecret(key, `v1.${raw.subarray(0, raw.length - 1).toString('base64url')}`, 'totp:user-1')).toBeNull();
  });

  it("refuses a value moved to another user's row (the user id is associated data)", () => {
    const sealed = sealSecret(key, PLAIN, 'totp:user-1');
    expect(openSecret(key, sealed, 'totp:user-2')).toBeNull();
  });

  it('refuses a value sealed under another server secret, and its own key differs from the secret', () => {
    const other = deriveKey(`${SERVER_SECRET}-other`, SECRET_BOX_KEY_LABEL);
    expect(openSecret(other, sealSecret(key, PLAIN, 'totp:u'), 'totp:u')).toBeNull();
    expect(key).toHaveLength(32);
    expect(key.toString('utf8')).not.toContain(SERVER_SECRET.slice(0, 16));
  });

  it('refuses malformed stored values without throwing', () => {
    for (const bad of ['', 'v1.', 'v2.AAAA', 'v1.AAAA', 'garbage', 'v1.a.b']) expect(openSecret(key, bad, 'totp:u')).toBeNull();
  });
});
