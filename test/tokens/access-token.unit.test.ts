import { createHmac } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, it, expect } from 'vitest';
import { parseBearer } from '../../src/http/credentials.js';
import { ACCESS_TOKEN_TYPE, AccessTokens } from '../../src/tokens/access-token.js';
import type { AccessTokenOptions, AccessTokenSubject } from '../../src/tokens/access-token.js';
import { generateRefreshToken } from '../../src/tokens/refresh-token.js';

const SECRET = 'unit-test-secret-4f9c2a7e1b8d3056-ZqXwVuTs';
const OPTIONS: AccessTokenOptions = { secret: SECRET, issuer: 'tokengate', audience: 'tokengate', ttl: 900, clockTolerance: 0 };
const SUBJECT: AccessTokenSubject = { userId: 'user-1', username: 'Alice', roles: ['USER', 'ADMIN'], sessionId: 'session-1', fresh: true };

/** A fixed instant (2026-01-15T12:00:00.000Z) and the same instant in whole seconds. */
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const T0_S = T0 / 1000;

const tokens = new AccessTokens(OPTIONS);

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const decodePart = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Builds an HS256 token by hand, so every header and claim is under the test's control. */
function craft(payload: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET): string {
  const signingInput = `${b64url({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE, ...header })}.${b64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** The claims AccessTokens itself would issue at T0. */
function claimsAt(iatS = T0_S): Record<string, unknown> {
  return {
    sub: 'user-1',
    username: 'Alice',
    roles: ['USER'],
    sid: 'session-1',
    jti: 'jti-1',
    iat: iatS,
    exp: iatS + 900,
    iss: 'tokengate',
    aud: 'tokengate',
    fresh: false,
  };
}

describe('AccessTokens.sign / verify round trip', () => {
  it('signs the contract claims and verifies them back', () => {
    const token = tokens.sign(SUBJECT, T0);
    const result = tokens.verify(token, T0);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.claims).toEqual({
      sub: 'user-1',
      username: 'Alice',
      roles: ['USER', 'ADMIN'],
      sid: 'session-1',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: T0_S,
      exp: T0_S + 900,
      iss: 'tokengate',
      aud: 'tokengate',
      fresh: true,
    });
  });

  it('puts typ at+jwt and alg HS256 in the header, and nothing that points at keys', () => {
    const [header] = tokens.sign(SUBJECT, T0).split('.');
    expect(decodePart(header!)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
  });

  it('takes iat from the injected clock, rounding milliseconds down', () => {
    const result = tokens.verify(tokens.sign(SUBJECT, T0 + 999), T0 + 999);
    expect(result.ok && result.claims.iat).toBe(T0_S);
    expect(result.ok && result.claims.exp).toBe(T0_S + 900);
  });

  it('carries fresh: false through', () => {
    const result = tokens.verify(tokens.sign({ ...SUBJECT, fresh: false }, T0), T0);
    expect(result.ok && result.claims.fresh).toBe(false);
  });

  it('carries amr through, and leaves it out when none is given', () => {
    const withAmr = tokens.verify(tokens.sign({ ...SUBJECT, amr: ['pwd', 'otp'] }, T0), T0);
    expect(withAmr.ok && withAmr.claims.amr).toEqual(['pwd', 'otp']);
    const signed = tokens.sign(SUBJECT, T0);
    expect('amr' in (JSON.parse(Buffer.from(signed.split('.')[1]!, 'base64url').toString()) as object)).toBe(false);
  });

  it('still verifies a token from before amr existed (no amr claim)', () => {
    const result = tokens.verify(craft(claimsAt()), T0);
    expect(result.ok).toBe(true);
    expect(result.ok && result.claims.amr).toBeUndefined();
  });

  it('gives every token its own jti', () => {
    const a = tokens.verify(tokens.sign(SUBJECT, T0), T0);
    const b = tokens.verify(tokens.sign(SUBJECT, T0), T0);
    expect(a.ok && b.ok).toBe(true);
    expect(a.ok && b.ok && a.claims.jti !== b.claims.jti).toBe(true);
  });

  it('exposes the configured lifetime', () => {
    expect(tokens.ttl).toBe(900);
  });
});

describe('AccessTokens.verify: expiry and not-before', () => {
  const token = tokens.sign(SUBJECT, T0);
  const expMs = (T0_S + 900) * 1000;

  it('accepts the token until the last millisecond before exp', () => {
    expect(tokens.verify(token, expMs - 1).ok).toBe(true);
  });

  it('reports TOKEN_EXPIRED exactly at exp (no leeway by default)', () => {
    expect(tokens.verify(token, expMs)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('reports TOKEN_EXPIRED long after exp', () => {
    expect(tokens.verify(token, expMs + 86_400_000)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('honours clockTolerance for exp', () => {
    const lenient = new AccessTokens({ ...OPTIONS, clockTolerance: 30 });
    const lenientToken = lenient.sign(SUBJECT, T0);
    expect(lenient.verify(lenientToken, expMs + 29_000).ok).toBe(true);
    expect(lenient.verify(lenientToken, expMs + 30_000)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('refuses a token whose nbf is in the future as INVALID_TOKEN', () => {
    const notYet = jwt.sign({ ...claimsAt(), nbf: T0_S + 60 }, SECRET, {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: ACCESS_TOKEN_TYPE },
    });
    expect(tokens.verify(notYet, T0)).toEqual({ ok: false, reason: 'INVALID_TOKEN' });
    // The same token is fine once nbf has come.
    expect(tokens.verify(notYet, (T0_S + 60) * 1000).ok).toBe(true);
  });

  it('honours clockTolerance for nbf', () => {
    const lenient = new AccessTokens({ ...OPTIONS, clockTolerance: 30 });
    const early = craft({ ...claimsAt(), nbf: T0_S + 30 });
    expect(lenient.verify(early, T0).ok).toBe(true);
    expect(lenient.verify(craft({ ...claimsAt(), nbf: T0_S + 31 }), T0)).toEqual({ ok: false, reason: 'INVALID_TOKEN' });
  });

  it('reports an expired token with a bad signature as INVALID_TOKEN, not TOKEN_EXPIRED', () => {
    const expiredClaims = claimsAt(T0_S - 3600);
    // Control: correctly signed, the same claims are merely expired.
    expect(tokens.verify(craft(expiredClaims), T0)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
    expect(tokens.verify(craft(expiredClaims, {}, 'another-secret-entirely-0123456789'), T0)).toEqual({
      ok: false,
      reason: 'INVALID_TOKEN',
    });
  });
});

describe('AccessTokens.verify: refused tokens', () => {
  const invalid = { ok: false, reason: 'INVALID_TOKEN' } as const;

  it('accepts a hand-crafted token with the exact contract shape (control for the cases below)', () => {
    expect(tokens.verify(craft(claimsAt()), T0).ok).toBe(true);
  });

  it('refuses a token from another issuer', () => {
    const foreign = new AccessTokens({ ...OPTIONS, issuer: 'someone-else' }).sign(SUBJECT, T0);
    expect(tokens.verify(foreign, T0)).toEqual(invalid);
  });

  it('refuses a token for another audience', () => {
    const foreign = new AccessTokens({ ...OPTIONS, audience: 'another-api' }).sign(SUBJECT, T0);
    expect(tokens.verify(foreign, T0)).toEqual(invalid);
  });

  it.each([
    ['typ JWT', { typ: 'JWT' }],
    ['typ application/jwt', { typ: 'application/jwt' }],
    ['typ AT+JWT in upper case', { typ: 'AT+JWT' }],
    ['typ missing', { typ: undefined }],
  ])('refuses a well-signed token with %s', (_label, header) => {
    expect(tokens.verify(craft(claimsAt(), header), T0)).toEqual(invalid);
  });

  it('refuses a token whose payload was changed after signing', () => {
    const [header, payload, signature] = tokens.sign({ ...SUBJECT, roles: ['USER'] }, T0).split('.');
    const forged = b64url({ ...decodePart(payload!), roles: ['USER', 'ADMIN'] });
    expect(tokens.verify(`${header}.${forged}.${signature}`, T0)).toEqual(invalid);
  });

  it('refuses a token whose signature was changed', () => {
    const [header, payload, signature] = tokens.sign(SUBJECT, T0).split('.');
    // Change the first character: the last one of a 32-byte base64url signature carries padding bits.
    const flipped = (signature![0] === 'A' ? 'B' : 'A') + signature!.slice(1);
    expect(tokens.verify(`${header}.${payload}.${flipped}`, T0)).toEqual(invalid);
  });

  it('refuses a token with the signature stripped', () => {
    const [header, payload] = tokens.sign(SUBJECT, T0).split('.');
    expect(tokens.verify(`${header}.${payload}.`, T0)).toEqual(invalid);
  });

  it('refuses alg: none', () => {
    const none = `${b64url({ alg: 'none', typ: ACCESS_TOKEN_TYPE })}.${b64url(claimsAt())}.`;
    expect(tokens.verify(none, T0)).toEqual(invalid);
  });

  it('refuses a token signed with another secret', () => {
    const other = new AccessTokens({ ...OPTIONS, secret: 'a-completely-different-secret-0123456789' });
    expect(tokens.verify(other.sign(SUBJECT, T0), T0)).toEqual(invalid);
  });

  it('refuses another algorithm even with the right secret (the algorithm is pinned)', () => {
    const signWith = (algorithm: 'HS256' | 'HS512') =>
      jwt.sign(claimsAt(), SECRET, { algorithm, header: { alg: algorithm, typ: ACCESS_TOKEN_TYPE } });
    expect(tokens.verify(signWith('HS256'), T0).ok).toBe(true);
    expect(tokens.verify(signWith('HS512'), T0)).toEqual(invalid);
  });

  it.each([
    ['kid', { kid: 'key-1' }],
    ['jku', { jku: 'https://attacker.example/jwks.json' }],
    ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
    ['jwk', { jwk: { kty: 'oct', k: 'AAAA' } }],
    ['x5c', { x5c: ['MIIB'] }],
    ['crit', { crit: ['exp'] }],
  ])('refuses a well-signed HS256 token whose header carries %s', (_label, header) => {
    expect(tokens.verify(craft(claimsAt(), header), T0)).toEqual(invalid);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no sid', { sid: undefined }],
    ['an empty sub', { sub: '' }],
    ['no jti', { jti: undefined }],
    ['no username', { username: undefined }],
    ['roles containing ROOT', { roles: ['USER', 'ROOT'] }],
    ['roles as a string', { roles: 'ADMIN' }],
    ['fresh as a string', { fresh: 'true' }],
    ['amr as a string', { amr: 'otp' }],
    ['amr holding a number', { amr: ['pwd', 1] }],
    ['no exp', { exp: undefined }],
  ])('refuses a well-signed token with %s', (_label, change) => {
    expect(tokens.verify(craft({ ...claimsAt(), ...change }), T0)).toEqual(invalid);
  });

  it.each(['', 'garbage', 'a.b.c', 'a.b', '...', generateRefreshToken()])('refuses %j without throwing', (token) => {
    expect(tokens.verify(token, T0)).toEqual(invalid);
  });
});

describe('parseBearer', () => {
  const token = tokens.sign(SUBJECT, T0);

  it('returns none when the header is absent', () => {
    expect(parseBearer(undefined)).toEqual({ kind: 'none' });
  });

  it.each([`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `bEaReR ${token}`])('extracts the token from %s', (header) => {
    expect(parseBearer(header)).toEqual({ kind: 'bearer', token });
  });

  it.each([
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['another scheme', 'Basic abc'],
    ['another scheme with a JWT', `Basic ${token}`],
    ['a bare JWT without scheme', token],
    ['something that is not a JWT', 'Bearer not-a-jwt'],
    ['trailing extra words', 'Bearer a.b.c extra'],
    ['a refresh token', `Bearer ${generateRefreshToken()}`],
  ])('calls %s malformed', (_label, header) => {
    expect(parseBearer(header)).toEqual({ kind: 'malformed' });
  });
});

describe('AccessTokens memoization', () => {
  it('re-checks expiry on every call for a memoized valid token', () => {
    const memo = new AccessTokens(OPTIONS);
    const token = memo.sign(SUBJECT, T0);
    expect(memo.verify(token, T0).ok).toBe(true);
    expect(memo.verify(token, T0 + 899_000).ok).toBe(true);
    expect(memo.verify(token, T0 + 900_000)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('keeps a refused token refused, and a one-character change to a valid token is a miss that fails', () => {
    const memo = new AccessTokens(OPTIONS);
    const token = memo.sign(SUBJECT, T0);
    expect(memo.verify(token, T0).ok).toBe(true);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    for (let i = 0; i < 3; i++) expect(memo.verify(flipped, T0)).toEqual({ ok: false, reason: 'INVALID_TOKEN' });
    expect(memo.verify(token, T0).ok).toBe(true);
  });

  it('answers the same with memoization off', () => {
    const plain = new AccessTokens({ ...OPTIONS, cacheSize: 0 });
    const token = plain.sign(SUBJECT, T0);
    expect(plain.verify(token, T0).ok).toBe(true);
    expect(plain.verify(token, T0 + 900_000)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
    expect(plain.verify(`${token}x`, T0)).toEqual({ ok: false, reason: 'INVALID_TOKEN' });
  });
});
