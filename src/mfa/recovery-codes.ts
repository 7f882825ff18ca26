import { createHash, randomBytes } from 'node:crypto';

/*
 * Recovery codes: ten one-time codes shown once when TOTP is turned on, for
 * the day the phone is lost. Each carries 80 random bits, written as 16
 * lower-case base32 characters (a–z, 2–7) in groups of four, e.g.
 * "k7qd-3mzp-x2aw-rf5e"; case, spaces and hyphens are ignored when typed.
 *
 * Stored as a plain SHA-256, like refresh tokens, not with Argon2: hashing is
 * slow for passwords because people pick guessable ones; these are uniformly
 * random, so even a stolen table would need ~2^80 hashes per code, and a fast
 * hash lets us find a code by its hash in one indexed lookup.
 */

/** How many codes confirmTotp answers. */
export const RECOVERY_CODE_COUNT = 10;
const CODE_BYTES = 10; // 80 bits = 16 base32 characters
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const NORMALIZED_PATTERN = /^[a-z2-7]{16}$/;

/** Ten new codes, as shown to the user. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => formatRecoveryCode(base32(randomBytes(CODE_BYTES))));
}

/** The canonical form: lower case, without the hyphens and spaces people type. */
export function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase();
}

/** Whether `code` could be one of our recovery codes (checked before any database work). */
export function looksLikeRecoveryCode(code: string): boolean {
  return NORMALIZED_PATTERN.test(normalizeRecoveryCode(code));
}

/** The stored form of a code: SHA-256 of its canonical form, base64url. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(`tokengate recovery code v1:${normalizeRecoveryCode(code)}`, 'utf8').digest('base64url');
}

function formatRecoveryCode(normalized: string): string {
  return normalized.match(/.{4}/g)!.join('-');
}

/** RFC 4648 base32 (lower case, no padding) of exactly 10 bytes: 16 characters. */
function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
