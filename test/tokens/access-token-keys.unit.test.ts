import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESS_TOKEN_TYPE, AccessTokens, HASURA_CLAIMS, type AccessTokenOptions, type AccessTokenSubject } from '../../src/tokens/access-token.js';
import { buildKeySet, parseSigningKey, type SignKey, type SigningKeySet } from '../../src/tokens/signing-keys.js';

/*
 * Access tokens under RS256/ES256 key sets: kid selection, the algorithm
 * pinned per key, the attacks of docs/api.md "Signing keys", and
 * memoized verdicts that never answer for another key.
 */

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const T0_S = T0 / 1000;
const SECRET = 'unit-test-secret-4f9c2a7e1b8d3056-ZqXwVuTs';
const BASE: AccessTokenOptions = { secret: SECRET, issuer: 'tokengate', audience: 'tokengate', ttl: 900, clockTolerance: 0 };
const SUBJECT: AccessTokenSubject = { userId: 'user-1', username: 'Alice', roles: ['USER', 'ADMIN'], sessionId: 'session-1', fresh: true };
const invalid = { ok: false, reason: 'INVALID_TOKEN' } as const;

const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const newEc = (): SignKey => parseSigningKey(pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'ES256');
const newRsa = (): SignKey => parseSigningKey(pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), 'RS256');

const ecA = newEc();
const ecB = newEc();
const rsaC = newRsa();
/** A key nobody configured: the attacker's. */
const stranger = newEc();

const tokensWith = (active: SignKey, earlier: SignKey[] = [], extra: Partial<AccessTokenOptions> = {}): AccessTokens =>
  new AccessTokens({ ...BASE, keys: buildKeySet(active, earlier), ...extra });

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const decode = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

function claimsAt(iatS = T0_S): Record<string, unknown> {
  return { sub: 'user-1', username: 'Alice', roles: ['USER'], sid: 'session-1', jti: 'jti-1', iat: iatS, exp: iatS + 900, iss: 'tokengate', aud: 'tokengate', fresh: false };
}

/** Signs header.payload by hand with any private key (ES256 as JOSE r||s), so every header field is under the test's control. */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, key: SignKey | KeyObject): string {
  const privateKey = 'privateKey' in key ? key.privateKey : key;
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    privateKey.asymmetricKeyType === 'ec'
      ? cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      : cryptoSign('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const headerOf = (key: SignKey, extra: Record<string, unknown> = {}) => ({ alg: key.algorithm, typ: ACCESS_TOKEN_TYPE, kid: key.kid, ...extra });

describe.each([
  ['ES256', ecA],
  ['RS256', rsaC],
] as const)('%s access tokens', (algorithm, key) => {
  const tokens = tokensWith(key);

  it('signs with the active key: header alg, typ at+jwt and kid = its thumbprint, nothing else', () => {
    const token = tokens.sign(SUBJECT, T0);
    expect(decode(token.split('.')[0]!)).toEqual({ alg: algorithm, typ: 'at+jwt', kid: key.kid });
    const result = tokens.verify(token, T0);
    expect(result.ok && result.claims).toMatchObject({ sub: 'user-1', roles: ['USER', 'ADMIN'], sid: 'session-1', iat: T0_S, exp: T0_S + 900, fresh: true });
  });

  it('accepts a hand-crafted token of the contract shape (control for the attacks)', () => {
    expect(tokens.verify(craft(headerOf(key), claimsAt(), key), T0).ok).toBe(true);
  });

  it('still reports expiry as TOKEN_EXPIRED, and nbf ahead as INVALID_TOKEN', () => {
    const token = tokens.sign(SUBJECT, T0);
    expect(tokens.verify(token, (T0_S + 900) * 1000)).toEqual({ ok: false, reason: 'TOKEN_EXPIRED' });
    expect(tokens.verify(craft(headerOf(key), { ...claimsAt(), nbf: T0_S + 60 }, key), T0)).toEqual(invalid);
  });

  it('refuses a token without kid, with an unknown kid, or with a kid that is not a string', () => {
    const { kid: _kid, ...noKid } = headerOf(key);
    expect(tokens.verify(craft(noKid, claimsAt(), key), T0)).toEqual(invalid);
    expect(tokens.verify(craft(headerOf(key, { kid: stranger.kid }), claimsAt(), key), T0)).toEqual(invalid);
    expect(tokens.verify(craft(headerOf(key, { kid: `${key.kid}x` }), claimsAt(), key), T0)).toEqual(invalid);
    expect(tokens.verify(craft(headerOf(key, { kid: [key.kid] }), claimsAt(), key), T0)).toEqual(invalid);
    expect(tokens.verify(craft(headerOf(key, { kid: null }), claimsAt(), key), T0)).toEqual(invalid);
  });

  it('refuses a signature by another key that claims the known kid', () => {
    const forgerKey = algorithm === 'ES256' ? stranger : newRsa();
    expect(tokens.verify(craft(headerOf(key), claimsAt(), forgerKey), T0)).toEqual(invalid);
    // Control: the forger's own kid is unknown too; only the configured key's signature passes.
    expect(tokens.verify(craft(headerOf(forgerKey), claimsAt(), forgerKey), T0)).toEqual(invalid);
  });

  it('refuses HS256 "signed" with the published public key (PEM, trimmed PEM, DER, JWK JSON) as the HMAC secret', () => {
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = key.publicKey.export({ type: 'spki', format: 'der' });
    for (const secret of [pem, pem.trim(), der, JSON.stringify(key.jwk)]) {
      for (const header of [{ alg: 'HS256', typ: ACCESS_TOKEN_TYPE, kid: key.kid }, { alg: 'HS256', typ: ACCESS_TOKEN_TYPE }]) {
        const input = `${b64(header)}.${b64(claimsAt())}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        expect(tokens.verify(token, T0)).toEqual(invalid);
      }
    }
  });

  it('refuses alg none, with or without the kid, with or without the signature', () => {
    const real = tokens.sign(SUBJECT, T0);
    const [, payload, signature] = real.split('.');
    for (const alg of ['none', 'None', 'NONE']) {
      const header = b64({ alg, typ: ACCESS_TOKEN_TYPE, kid: key.kid });
      expect(tokens.verify(`${header}.${payload}.`, T0)).toEqual(invalid);
      expect(tokens.verify(`${header}.${payload}.${signature}`, T0)).toEqual(invalid);
      expect(tokens.verify(`${b64({ alg, typ: ACCESS_TOKEN_TYPE })}.${payload}.`, T0)).toEqual(invalid);
    }
    expect(tokens.verify(real, T0).ok).toBe(true);
  });

  it('refuses a tampered payload under the original signature', () => {
    const [header, payload, signature] = tokens.sign({ ...SUBJECT, roles: ['USER'] }, T0).split('.');
    expect(tokens.verify(`${header}.${payload}.${signature}`, T0).ok).toBe(true);
    const forged = b64({ ...decode(payload!), roles: ['USER', 'ADMIN'] });
    expect(tokens.verify(`${header}.${forged}.${signature}`, T0)).toEqual(invalid);
  });

  it('refuses a key-fetching or critical header parameter next to the kid', () => {
    for (const extra of [{ jku: 'https://attacker.example/jwks' }, { x5u: 'https://attacker.example/c' }, { jwk: stranger.jwk }, { x5c: ['MIIB'] }, { crit: ['exp'] }]) {
      expect(tokens.verify(craft(headerOf(key, extra), claimsAt(), key), T0)).toEqual(invalid);
    }
  });
});

describe('key selection by kid', () => {
  it('verifies tokens of every configured key and signs only with the active one', () => {
    const before = tokensWith(ecA);
    const old = before.sign(SUBJECT, T0);
    const rotated = tokensWith(ecB, [ecA]);
    expect(rotated.verify(old, T0).ok).toBe(true);
    const fresh = rotated.sign(SUBJECT, T0);
    expect(decode(fresh.split('.')[0]!).kid).toBe(ecB.kid);
    expect(before.verify(fresh, T0)).toEqual(invalid);
    // Old key dropped: its tokens are refused.
    expect(tokensWith(ecB).verify(old, T0)).toEqual(invalid);
  });

  it('moves between algorithms: an RS256 key listed as an earlier signer still verifies under ES256', () => {
    const rsaToken = tokensWith(rsaC).sign(SUBJECT, T0);
    const mixed = tokensWith(ecA, [rsaC]);
    expect(mixed.verify(rsaToken, T0).ok).toBe(true);
    expect(decode(mixed.sign(SUBJECT, T0).split('.')[0]!)).toMatchObject({ alg: 'ES256', kid: ecA.kid });
  });

  it('pins the algorithm per key: a header naming the RSA key but alg ES256 (or the EC key and RS256) is refused', () => {
    const mixed = tokensWith(ecA, [rsaC]);
    // Control: each key with its own algorithm.
    expect(mixed.verify(craft(headerOf(rsaC), claimsAt(), rsaC), T0).ok).toBe(true);
    expect(mixed.verify(craft(headerOf(ecA), claimsAt(), ecA), T0).ok).toBe(true);
    expect(mixed.verify(craft(headerOf(rsaC, { alg: 'ES256' }), claimsAt(), ecA), T0)).toEqual(invalid);
    expect(mixed.verify(craft(headerOf(ecA, { alg: 'RS256' }), claimsAt(), rsaC), T0)).toEqual(invalid);
    expect(mixed.verify(craft(headerOf(rsaC, { alg: 'PS256' }), claimsAt(), rsaC), T0)).toEqual(invalid);
  });

  it('refuses a kid under HS256, and HS256 tokens under a key set', () => {
    const hs = new AccessTokens(BASE);
    const hsToken = hs.sign(SUBJECT, T0);
    expect(hs.verify(hsToken, T0).ok).toBe(true);
    expect(tokensWith(ecA).verify(hsToken, T0)).toEqual(invalid);
    expect(hs.verify(tokensWith(ecA).sign(SUBJECT, T0), T0)).toEqual(invalid);
  });
});

describe('Hasura claims', () => {
  it('adds the claims block of the contract when asked, and verification ignores it', () => {
    const tokens = tokensWith(ecA, [], { hasuraClaims: true });
    const token = tokens.sign({ ...SUBJECT, roles: ['USER', 'ADMIN'] }, T0);
    expect(decode(token.split('.')[1]!)[HASURA_CLAIMS]).toEqual({
      'x-hasura-user-id': 'user-1',
      'x-hasura-default-role': 'user',
      'x-hasura-allowed-roles': ['user', 'admin'],
    });
    expect(tokens.verify(token, T0).ok).toBe(true);
  });

  it('leaves it out by default, with HS256 too', () => {
    expect(decode(tokensWith(ecA).sign(SUBJECT, T0).split('.')[1]!)).not.toHaveProperty([HASURA_CLAIMS]);
    const hs = new AccessTokens({ ...BASE, hasuraClaims: true });
    expect(decode(hs.sign({ ...SUBJECT, roles: ['USER'] }, T0).split('.')[1]!)[HASURA_CLAIMS]).toEqual({
      'x-hasura-user-id': 'user-1',
      'x-hasura-default-role': 'user',
      'x-hasura-allowed-roles': ['user'],
    });
  });
});

describe('memoized verdicts never cross keys', () => {
  /** Tokens that differ from genuine ones only in which key signed them or which key they name. */
  function candidates(): string[] {
    const claims = claimsAt();
    return [
      craft(headerOf(ecA), claims, ecA), // genuine under A
      craft(headerOf(ecB), claims, ecB), // genuine under B
      craft(headerOf(rsaC), claims, rsaC), // genuine under C
      craft(headerOf(ecA), claims, ecB), // names A, signed by B
      craft(headerOf(ecB), claims, ecA), // names B, signed by A
      craft(headerOf(ecA), claims, stranger), // names A, signed by a stranger
      craft(headerOf(stranger), claims, stranger), // unknown kid
      craft(headerOf(rsaC, { alg: 'ES256' }), claims, ecA), // names C with A's algorithm and signature
    ];
  }

  it('a memoizing verifier answers every sequence exactly as one without memoization', () => {
    const tokens = candidates();
    const sets: SigningKeySet[] = [buildKeySet(ecA, []), buildKeySet(ecB, [ecA]), buildKeySet(ecB, []), buildKeySet(rsaC, [ecB])];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sets.length - 1 }), fc.array(fc.integer({ min: 0, max: tokens.length - 1 }), { minLength: 1, maxLength: 40 }), (setIndex, order) => {
        const memo = new AccessTokens({ ...BASE, keys: sets[setIndex]!, cacheSize: 4 });
        const plain = new AccessTokens({ ...BASE, keys: sets[setIndex]!, cacheSize: 0 });
        for (const i of order) expect(memo.verify(tokens[i]!, T0)).toEqual(plain.verify(tokens[i]!, T0));
      }),
      { numRuns: 200 },
    );
  });

  it('accepts exactly the genuine tokens of its own keys, after they were memoized elsewhere', () => {
    const tokens = candidates();
    const rotated = tokensWith(ecB, [ecA]);
    const dropped = tokensWith(ecB);
    // Warm both caches in both orders: nothing one instance learnt reaches the other.
    const answers = (t: AccessTokens) => tokens.map((token) => t.verify(token, T0).ok);
    for (let i = 0; i < 2; i++) {
      expect(answers(rotated)).toEqual([true, true, false, false, false, false, false, false]);
      expect(answers(dropped)).toEqual([false, true, false, false, false, false, false, false]);
    }
  });

  it('re-verifies a memoized token when its kid no longer selects the key that verified it', () => {
    // White-box: the key set is fixed per instance, so swap the map to show the guard holds if it ever were not.
    const tokens = tokensWith(ecB, [ecA]);
    const old = tokensWith(ecA).sign(SUBJECT, T0);
    expect(tokens.verify(old, T0).ok).toBe(true);
    const impostor = { ...ecA, publicKey: stranger.publicKey };
    (tokens as unknown as { keysByKid: Map<string, unknown> }).keysByKid = new Map([[ecA.kid, impostor], [ecB.kid, ecB]]);
    expect(tokens.verify(old, T0)).toEqual(invalid);
  });
});
