import { createHash, randomBytes } from 'node:crypto';

/**
 * The opaque secrets tokengate hands out (refresh tokens, one-time link
 * tokens, mfaTokens): 32 random bytes (256 bits), base64url, so they travel
 * in JSON and URLs unescaped. The database keeps only their SHA-256: a fast
 * hash is right for a uniformly random 256-bit secret (there is nothing to
 * brute-force, unlike a password), and a leaked table yields nothing anyone
 * could present. Pure: storage, expiry and single use live with each kind.
 */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new random opaque token. */
export function generateOpaqueToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a string could be one of our opaque tokens (checked before any database work). */
export function isWellFormedOpaqueToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The stored form of an opaque token; `domain` separates kinds that must never match each other's hashes. */
export function hashOpaqueToken(token: string, domain = ''): string {
  return createHash('sha256').update(`${domain}${token}`, 'utf8').digest('base64url');
}
