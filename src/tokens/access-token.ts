import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import type { Role } from '../users/user.js';
import type { AsymmetricAlgorithm, SigningKeySet, VerifyKey } from './signing-keys.js';

/** The claims of a tokengate access token (docs/api.md, "Tokens"). */
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
  /** The HS256 key; unused when `keys` is given. */
  readonly secret: string;
  /** RS256/ES256: the active key signs, every key verifies, selected by `kid`. Null or absent: HS256 with `secret`. */
  readonly keys?: SigningKeySet | null;
  /** Adds Hasura's claims block (docs/api.md, "Signing keys"). */
  readonly hasuraClaims?: boolean;
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

/** The claim Hasura reads its session variables from. */
export const HASURA_CLAIMS = 'https://hasura.io/jwt/claims';

/**
 * Header parameters that would make a verifier fetch keys or honour
 * extensions (RFC 8725 §3.10). `kid` is refused with HS256 (there is one
 * secret, nothing to select); with RS256/ES256 it is required and only ever
 * looked up among the configured keys.
 */
const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/** The key that verifies one token, chosen from configuration only, with its pinned algorithm. */
interface SelectedKey {
  readonly key: KeyObject;
  readonly algorithm: 'HS256' | AsymmetricAlgorithm;
  /** The configured key this is (null for the HS256 secret). */
  readonly verifyKey: VerifyKey | null;
}

/**
 * A verification outcome that does not depend on the time: memoized per token
 * string, with the configured key that produced it.
 */
type TimelessVerdict = { readonly claims: AccessTokenClaims; readonly verifiedBy: VerifyKey | null } | 'invalid';

/**
 * Signs and verifies access tokens. Pure apart from the keys: the clock is a
 * parameter. Keys are parsed once into KeyObjects (jsonwebtoken re-parses a
 * string secret on every call), and the algorithm is pinned, never read from the token:
 * HS256 with the secret, or, with a key set, the algorithm of the key the
 * token's `kid` selects among the configured ones (so an HS256 token "signed"
 * with a published public key finds no HMAC key to verify against).
 *
 * A client sends the same token on every request for its lifetime, so the
 * time-independent part of verification (signature, algorithm, header, iss,
 * aud, claim shapes) is memoized per exact token string in a bounded LRU;
 * `exp` is checked against the clock on every call. Any change to a token,
 * one bit of its signature or its `kid` included, is a different string and
 * a cache miss. The cache belongs to this instance, whose key set is fixed,
 * and each verdict remembers the key that produced it: a hit is honoured only
 * while the token's `kid` still selects that very key, so a verdict reached
 * under one key never answers for another.
 */
export class AccessTokens {
  private readonly secretKey: KeyObject | null;
  private readonly keysByKid: ReadonlyMap<string, VerifyKey>;
  private readonly verdicts: LRUCache<string, TimelessVerdict> | null;

  constructor(private readonly options: AccessTokenOptions) {
    const keys = options.keys ?? null;
    this.secretKey = keys === null ? createSecretKey(Buffer.from(options.secret, 'utf8')) : null;
    this.keysByKid = new Map(keys === null ? [] : keys.verifyKeys.map((key) => [key.kid, key]));
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
    const claims = this.options.hasuraClaims ? { ...payload, [HASURA_CLAIMS]: hasuraClaims(subject) } : payload;
    const active = this.options.keys?.active;
    if (active === undefined) {
      return jwt.sign(claims, this.secretKey!, { algorithm: 'HS256', header: { alg: 'HS256', typ: ACCESS_TOKEN_TYPE } });
    }
    return jwt.sign(claims, active.privateKey, {
      algorithm: active.algorithm,
      header: { alg: active.algorithm, typ: ACCESS_TOKEN_TYPE, kid: active.kid },
    });
  }

  /** Verifies signature, algorithm, `typ`, `exp`, `nbf`, `iss` and `aud` at `nowMs`. */
  verify(token: string, nowMs: number): AccessTokenVerification {
    const now = Math.floor(nowMs / 1000);
    let verdict = this.verdicts?.get(token);
    // Defence in depth: the key set is fixed, but a verdict is only ever reused under the key that reached it.
    if (verdict !== undefined && verdict !== 'invalid' && verdict.verifiedBy !== null && this.keysByKid.get(verdict.verifiedBy.kid) !== verdict.verifiedBy) {
      verdict = undefined;
    }
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
    let selected: SelectedKey | null;
    // Refused tokens are expected, not bugs: no stack trace is worth capturing for them.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      selected = this.selectKey(token);
      if (selected === null) return 'invalid';
      decoded = jwt.verify(token, selected.key, {
        algorithms: [selected.algorithm],
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
    if (selected.verifyKey === null ? 'kid' in header : header.kid !== selected.verifyKey.kid) return 'invalid';
    const claims = readClaims(decoded.payload);
    if (claims === null) return 'invalid';
    return { claims, verifiedBy: selected.verifyKey };
  }

  /**
   * The key a token is verified with. HS256: the secret. With a key set: the
   * configured key its `kid` names, or none (a missing, unknown or malformed
   * `kid` is refused before any signature work). Never a key from the token.
   */
  private selectKey(token: string): SelectedKey | null {
    if (this.secretKey !== null) return { key: this.secretKey, algorithm: 'HS256', verifyKey: null };
    const kid = readKid(token);
    const verifyKey = kid === null ? undefined : this.keysByKid.get(kid);
    if (verifyKey === undefined) return null;
    return { key: verifyKey.publicKey, algorithm: verifyKey.algorithm, verifyKey };
  }
}

/** The `kid` of a token's header, or null when the header is not JSON or has no string `kid`. */
function readKid(token: string): string | null {
  const end = token.indexOf('.');
  if (end <= 0) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null) return null;
    const kid = (header as Record<string, unknown>).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}

/** Hasura's claims block: its user id, a default role, and the allowed roles in lower case. */
function hasuraClaims(subject: AccessTokenSubject): Record<string, unknown> {
  return {
    'x-hasura-user-id': subject.userId,
    'x-hasura-default-role': 'user',
    'x-hasura-allowed-roles': subject.roles.map((role) => role.toLowerCase()),
  };
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
