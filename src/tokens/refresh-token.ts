import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Refresh tokens are opaque: 32 random bytes, base64url. The database keeps
 * only their SHA-256 (a fast hash is right for a 256-bit random secret, unlike
 * for passwords), so a leaked table yields no usable token.
 *
 * Each rotation's successor is derived, not random: next = HMAC(key, current).
 * That lets a racer presenting an already-used token inside the grace window
 * be handed the session's *current* token again, without ever storing a token
 * in plaintext, and without opening a second refresh chain. Without the key,
 * an old token says nothing about its successor.
 */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Creates a new random refresh token. */
export function generateRefreshToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a string could be one of our refresh tokens (checked before any database work). */
export function isWellFormedRefreshToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The stored form of a refresh token. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** The token that replaces `token` after `steps` rotations. */
export function deriveRefreshToken(key: Buffer, token: string, steps = 1): string {
  let current = token;
  for (let i = 0; i < steps; i++) {
    current = createHmac('sha256', key).update(current, 'utf8').digest('base64url');
  }
  return current;
}

/** Compares two stored hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
