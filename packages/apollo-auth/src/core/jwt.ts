/*
 * Reading a JWT's claims without verifying it. Only the server's verdict
 * counts (a token's claims are public; its signature is what matters): the
 * client reads them to time its work and to show them, never to decide
 * whether a token is good.
 */

/** What a tokengate access token says about itself. */
export interface TokenClaims {
  /** `exp`, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /** `iat`, in milliseconds since the epoch (0 when absent). */
  readonly issuedAt: number;
  /** `sid`: the session the token belongs to. */
  readonly sessionId: string | null;
  /** `fresh`: straight from a password login, signup or verifyMfa; sensitive mutations need it. */
  readonly fresh: boolean;
}

/** The claims of a JWT, or null when it is not one or has no numeric `exp`. */
export function readClaims(jwt: string): TokenClaims | null {
  const part = jwt.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown; sid?: unknown; fresh?: unknown } | null;
    if (typeof claims?.exp !== 'number') return null;
    return {
      expiresAt: claims.exp * 1000,
      issuedAt: typeof claims.iat === 'number' ? claims.iat * 1000 : 0,
      sessionId: typeof claims.sid === 'string' ? claims.sid : null,
      fresh: claims.fresh === true,
    };
  } catch {
    return null;
  }
}

/** The `exp` claim of a JWT in milliseconds, or null when it cannot be read (the server decides validity; this only guides timing). */
export function expiresAtOf(jwt: string): number | null {
  return readClaims(jwt)?.expiresAt ?? null;
}
