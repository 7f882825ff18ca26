import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Role } from '../users/user.js';

/** The claims of a tokengate access token (../shared/API.md, "Tokens"). */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly sid: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly iss: string;
  readonly aud: string;
  readonly fresh: boolean;
}

/** What a caller asks to put in a new access token. */
export interface AccessTokenSubject {
  readonly userId: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly sessionId: string;
  readonly fresh: boolean;
}

/** The outcome of verifying a presented access token; never throws. */
export type AccessTokenVerification =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | { readonly ok: false; readonly reason: 'INVALID_TOKEN' | 'TOKEN_EXPIRED' };

/** Settings for AccessTokens, all from Config. */
export interface AccessTokenOptions {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime in seconds. */
  readonly ttl: number;
  /** Leeway in seconds for `exp`/`nbf`; 0 by default, at most 60. */
  readonly clockTolerance: number;
}

/** RFC 9068 media type for JWT access tokens; refusing others stops token-type confusion. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ALGORITHM = 'HS256';

/** Header parameters that would make a verifier fetch keys or honour extensions (RFC 8725 §3.10). */
const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'kid'] as const;

/**
 * Signs and verifies access tokens. Pure apart from the key: the clock is a
 * parameter. The key is parsed once into a KeyObject (jsonwebtoken re-parses a
 * string secret on every call), and the algorithm is pinned, never read from the token.
 */
export class AccessTokens {
  private readonly key: KeyObject;

  constructor(private readonly options: AccessTokenOptions) {
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
  }

  /** Lifetime of a new token, in seconds. */
  get ttl(): number {
    return this.options.ttl;
  }

  /** Signs a new access token valid from `nowMs` for the configured lifetime. */
  sign(subject: AccessTokenSubject, nowMs: number): string {
    const iat = Math.floor(nowMs / 1000);
    const payload = {
      sub: subject.userId,
      username: subject.username,
      roles: subject.roles,
      sid: subject.sessionId,
      jti: randomUUID(),
      iat,
      exp: iat + this.options.ttl,
      iss: this.options.issuer,
      aud: this.options.audience,
      fresh: subject.fresh,
    } satisfies AccessTokenClaims;
    return jwt.sign(payload, this.key, { algorithm: ALGORITHM, header: { alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE } });
  }

  /** Verifies signature, algorithm, `typ`, `exp`, `nbf`, `iss` and `aud` at `nowMs`. */
  verify(token: string, nowMs: number): AccessTokenVerification {
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTimestamp: Math.floor(nowMs / 1000),
        clockTolerance: this.options.clockTolerance,
        complete: true,
      });
    } catch (error) {
      // jsonwebtoken checks the signature before exp, so an expired token here
      // is one we really issued; everything else is simply invalid.
      return { ok: false, reason: error instanceof jwt.TokenExpiredError ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN' };
    }
    const header = decoded.header as unknown as Record<string, unknown>;
    if (header.typ !== ACCESS_TOKEN_TYPE) return { ok: false, reason: 'INVALID_TOKEN' };
    if (FORBIDDEN_HEADER_PARAMS.some((param) => param in header)) return { ok: false, reason: 'INVALID_TOKEN' };
    const claims = readClaims(decoded.payload);
    return claims ? { ok: true, claims } : { ok: false, reason: 'INVALID_TOKEN' };
  }
}

/** Checks the shape of a verified payload; a well-signed token of another shape is still refused. */
function readClaims(payload: unknown): AccessTokenClaims | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const p = payload as Record<string, unknown>;
  const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (!isString(p.sub) || !isString(p.username) || !isString(p.sid) || !isString(p.jti)) return null;
  if (!isString(p.iss) || !isString(p.aud)) return null;
  if (typeof p.iat !== 'number' || typeof p.exp !== 'number' || typeof p.fresh !== 'boolean') return null;
  if (!Array.isArray(p.roles) || !p.roles.every((r) => r === 'USER' || r === 'ADMIN')) return null;
  return {
    sub: p.sub,
    username: p.username,
    roles: p.roles as Role[],
    sid: p.sid,
    jti: p.jti,
    iat: p.iat,
    exp: p.exp,
    iss: p.iss,
    aud: p.aud,
    fresh: p.fresh,
  };
}

/**
 * Extracts the token from an Authorization header value. Returns null when the
 * header is absent, or 'malformed' when it is present but not `Bearer <jwt>`.
 */
export function parseBearer(header: string | undefined): string | null | 'malformed' {
  if (header === undefined) return null;
  const match = /^bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i.exec(header);
  return match?.[1] ?? 'malformed';
}
