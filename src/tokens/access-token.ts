import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
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
  /** RFC 8176 authentication methods (`["pwd"]`, `["pwd","otp"]`, `["pwd","recovery"]`); absent from tokens older than TOTP. */
  readonly amr?: readonly string[];
}

/** What a caller asks to put in a new access token. */
export interface AccessTokenSubject {
  readonly userId: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly sessionId: string;
  readonly fresh: boolean;
  readonly amr?: readonly string[];
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
  /** How many verified (or refused) token strings to remember; 0 turns memoization off. */
  readonly cacheSize?: number;
}

/** RFC 9068 media type for JWT access tokens; refusing others stops token-type confusion. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
const ALGORITHM = 'HS256';

/** Header parameters that would make a verifier fetch keys or honour extensions (RFC 8725 §3.10). */
const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'kid'] as const;

/** A verification outcome that does not depend on the time: memoized per token string. */
type TimelessVerdict = { readonly claims: AccessTokenClaims } | 'invalid';

/**
 * Signs and verifies access tokens. Pure apart from the key: the clock is a
 * parameter. The key is parsed once into a KeyObject (jsonwebtoken re-parses a
 * string secret on every call), and the algorithm is pinned, never read from the token.
 *
 * A client sends the same token on every request for its lifetime, so the
 * time-independent part of verification (signature, algorithm, header, iss,
 * aud, claim shapes) is memoized per exact token string in a bounded LRU;
 * `exp` is checked against the clock on every call. Any change to a token,
 * one bit of its signature included, is a different string and a cache miss.
 */
export class AccessTokens {
  private readonly key: KeyObject;
  private readonly verdicts: LRUCache<string, TimelessVerdict> | null;

  constructor(private readonly options: AccessTokenOptions) {
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    const size = options.cacheSize ?? 10_000;
    this.verdicts = size > 0 ? new LRUCache({ max: size }) : null;
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
      ...(subject.amr ? { amr: subject.amr } : {}),
    } satisfies AccessTokenClaims;
    return jwt.sign(payload, this.key, { algorithm: ALGORITHM, header: { alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE } });
  }

  /** Verifies signature, algorithm, `typ`, `exp`, `nbf`, `iss` and `aud` at `nowMs`. */
  verify(token: string, nowMs: number): AccessTokenVerification {
    const now = Math.floor(nowMs / 1000);
    let verdict = this.verdicts?.get(token);
    if (verdict === undefined) {
      const fresh = this.verifyTimeless(token, now);
      if (fresh === 'not-yet-valid') return { ok: false, reason: 'INVALID_TOKEN' };
      verdict = fresh;
      this.verdicts?.set(token, verdict);
    }
    if (verdict === 'invalid') return { ok: false, reason: 'INVALID_TOKEN' };
    // No leeway by default: a token is expired from its `exp` second on, as jsonwebtoken counts.
    if (now >= verdict.claims.exp + this.options.clockTolerance) return { ok: false, reason: 'TOKEN_EXPIRED' };
    return { ok: true, claims: verdict.claims };
  }

  /**
   * Everything but expiry. A token whose `nbf` is still ahead is refused and
   * not memoized (it may become valid); once `nbf` has passed it stays passed.
   */
  private verifyTimeless(token: string, now: number): TimelessVerdict | 'not-yet-valid' {
    let decoded: jwt.Jwt;
    // Refused tokens are expected, not bugs: no stack trace is worth capturing for them.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      decoded = jwt.verify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTimestamp: now,
        clockTolerance: this.options.clockTolerance,
        ignoreExpiration: true,
        complete: true,
      });
    } catch (error) {
      // jsonwebtoken checks the signature before nbf, so this token is ours but early.
      return error instanceof jwt.NotBeforeError ? 'not-yet-valid' : 'invalid';
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    const header = decoded.header as unknown as Record<string, unknown>;
    if (header.typ !== ACCESS_TOKEN_TYPE) return 'invalid';
    if (FORBIDDEN_HEADER_PARAMS.some((param) => param in header)) return 'invalid';
    const claims = readClaims(decoded.payload);
    if (claims === null) return 'invalid';
    return { claims };
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
  // Optional, so tokens signed before TOTP existed still verify.
  if (p.amr !== undefined && !(Array.isArray(p.amr) && p.amr.every(isString))) return null;
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
    ...(p.amr !== undefined ? { amr: p.amr as string[] } : {}),
  };
}
