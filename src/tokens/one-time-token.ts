import { generateOpaqueToken, hashOpaqueToken, isWellFormedOpaqueToken } from './opaque-token.js';

/**
 * One-time link tokens (email verification, password reset): 32 random bytes
 * (256 bits, well past the contract's 128), base64url, so they travel in a
 * URL unescaped. The database keeps only their SHA-256: a fast hash is right
 * for a random 256-bit secret (nothing to brute-force), and a leaked table
 * yields no usable link. Single use and expiry are the repository's and the
 * service's job; this module is pure.
 */

/** What a one-time token is for; a token of one kind never works for the other. */
export type OneTimeTokenKind = 'verify_email' | 'reset_password';

/** Creates a new random one-time token. */
export const generateOneTimeToken = generateOpaqueToken;

/** Whether a string could be one of our one-time tokens (checked before any database work). */
export const isWellFormedOneTimeToken = isWellFormedOpaqueToken;

/** The stored form of a one-time token. */
export function hashOneTimeToken(token: string): string {
  return hashOpaqueToken(token);
}

/** When a token issued at `nowMs` with a lifetime of `ttlSeconds` stops working. */
export function oneTimeTokenExpiry(nowMs: number, ttlSeconds: number): number {
  return nowMs + ttlSeconds * 1000;
}

/** Whether a token that expires at `expiresAtMs`, used at `usedAt` (or not), still works at `nowMs`. */
export function isOneTimeTokenUsable(token: { readonly expiresAt: Date; readonly usedAt: Date | null }, nowMs: number): boolean {
  return token.usedAt === null && token.expiresAt.getTime() > nowMs;
}
