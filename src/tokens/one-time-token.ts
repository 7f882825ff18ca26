import { createHash, randomBytes } from 'node:crypto';

/**
 * One-time link tokens (email verification, password reset): 32 random bytes
 * (256 bits, well past the contract's 128), base64url, so they travel in a
 * URL unescaped. The database keeps only their SHA-256: a fast hash is right
 * for a random 256-bit secret (nothing to brute-force), and a leaked table
 * yields no usable link. Single use and expiry are the repository's and the
 * service's job; this module is pure.
 */
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What a one-time token is for; a token of one kind never works for the other. */
export type OneTimeTokenKind = 'verify_email' | 'reset_password';

/** Creates a new random one-time token. */
export function generateOneTimeToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a string could be one of our one-time tokens (checked before any database work). */
export function isWellFormedOneTimeToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The stored form of a one-time token. */
export function hashOneTimeToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** When a token issued at `nowMs` with a lifetime of `ttlSeconds` stops working. */
export function oneTimeTokenExpiry(nowMs: number, ttlSeconds: number): number {
  return nowMs + ttlSeconds * 1000;
}

/** Whether a token that expires at `expiresAtMs`, used at `usedAt` (or not), still works at `nowMs`. */
export function isOneTimeTokenUsable(token: { readonly expiresAt: Date; readonly usedAt: Date | null }, nowMs: number): boolean {
  return token.usedAt === null && token.expiresAt.getTime() > nowMs;
}
