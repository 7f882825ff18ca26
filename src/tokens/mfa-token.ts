import { createHash, randomBytes } from 'node:crypto';

/*
 * The mfaToken a login answers with MFA_REQUIRED: opaque, 256 random bits,
 * single use, short-lived. Like refresh tokens it is stored only as a SHA-256
 * (a fast hash is right for a uniformly random secret), so the table holds
 * nothing a thief could present.
 */

/** How long an mfaToken may be used: 5 minutes (the contract's figure). */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes after which an mfaToken is dead. */
export const MFA_TOKEN_MAX_FAILURES = 5;
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new random mfaToken. */
export function generateMfaToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a string could be one of our mfaTokens (checked before any database work). */
export function isWellFormedMfaToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The stored form of an mfaToken. */
export function hashMfaToken(token: string): string {
  return createHash('sha256').update(`mfa:${token}`, 'utf8').digest('base64url');
}
