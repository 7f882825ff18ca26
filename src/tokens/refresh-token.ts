import { createHmac, timingSafeEqual } from 'node:crypto';
import { generateOpaqueToken, hashOpaqueToken, isWellFormedOpaqueToken } from './opaque-token.js';

/**
 * Refresh tokens are opaque (opaque-token.ts): 256 random bits, stored only
 * as their SHA-256.
 *
 * Each rotation's successor is derived, not random: next = HMAC(key, current).
 * That lets a racer presenting an already-used token inside the grace window
 * be handed the session's *current* token again, without ever storing a token
 * in plaintext, and without opening a second refresh chain. Without the key,
 * an old token says nothing about its successor.
 */
/** Creates a new random refresh token. */
export const generateRefreshToken = generateOpaqueToken;

/** Whether a string could be one of our refresh tokens (checked before any database work). */
export const isWellFormedRefreshToken = isWellFormedOpaqueToken;

/** The stored form of a refresh token. */
export function hashRefreshToken(token: string): string {
  return hashOpaqueToken(token);
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
