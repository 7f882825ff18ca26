import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/*
 * Encryption at rest for TOTP secrets: AES-256-GCM under a key derived from
 * JWT_SECRET by HKDF with its own label, so one configured secret suffices and
 * no other use of it (token signing, the refresh chain) shares this key.
 * A fresh 96-bit IV per encryption; the 128-bit tag makes any change to the
 * stored value (or moving it to another user's row: the user id is bound in
 * as associated data) fail to decrypt rather than yield another secret.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The HKDF label of the TOTP-secret key. */
export const SECRET_BOX_KEY_LABEL = 'totp secret v1';

/**
 * A 32-byte key for one purpose (`label`), derived from the server secret
 * with HKDF-SHA-256: one configured secret serves every purpose, and no key
 * is used for two. core.deriveKey is this, with JWT_SECRET.
 */
export function deriveKey(serverSecret: string, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serverSecret, 'tokengate', label, 32));
}

/** Encrypts `plaintext` bound to `context` (the owner's id); answers `v1.<base64url(iv | ciphertext | tag)>`. */
export function sealSecret(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** Decrypts what sealSecret made for the same `context`; null when it was altered, moved or sealed under another key. */
export function openSecret(key: Buffer, sealed: string, context: string): string | null {
  const [version, encoded, extra] = sealed.split('.');
  if (version !== VERSION || encoded === undefined || extra !== undefined) return null;
  const raw = Buffer.from(encoded, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
