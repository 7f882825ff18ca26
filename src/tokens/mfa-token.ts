import { generateOpaqueToken, hashOpaqueToken, isWellFormedOpaqueToken } from './opaque-token.js';

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

/** A new random mfaToken. */
export const generateMfaToken = generateOpaqueToken;

/** Whether a string could be one of our mfaTokens (checked before any database work). */
export const isWellFormedMfaToken = isWellFormedOpaqueToken;

/** The stored form of an mfaToken. */
export function hashMfaToken(token: string): string {
  return hashOpaqueToken(token, 'mfa:');
}
