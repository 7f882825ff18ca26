import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { TEST_SECRET, errorCode, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { GENEROUS_LIMITS, REFRESH, b64, decodeClaims, meRefusal } from './security-helpers.js';

/*
 * Known attacks on JWT access tokens, each sent over real HTTP as
 * `Authorization: Bearer <token>` to `{ me { id } }`. The contract
 * (docs/api.md, "Tokens") pins the algorithm and checks typ, exp, nbf,
 * iss and aud; every attack must end as UNAUTHENTICATED with the stated
 * reason, on HTTP 200 with `data: null`.
 *
 * "Correctly signed" variants are signed with the server's real secret, so
 * the only thing wrong with them is the one header parameter or claim under
 * test; the control tests show the same forging with nothing wrong is accepted.
 */

const HEADER = { alg: 'HS256', typ: 'at+jwt' };

/** Signs claims with jsonwebtoken, HS256 and the server's secret unless told otherwise. */
function signWith(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  { secret = TEST_SECRET, algorithm = 'HS256' as jwt.Algorithm } = {},
): string {
  return jwt.sign(claims, secret, { algorithm, header: { alg: algorithm, typ: 'at+jwt', ...header } });
}

/** HMACs `header.payload` by hand, for keys jsonwebtoken refuses to sign with (a PEM as an HMAC key). */
function hmacToken(header: Record<string, unknown>, claims: Record<string, unknown>, key: string, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** Replaces one segment of a token, keeping the others byte for byte. */
function withSegment(token: string, index: 0 | 1 | 2, segment: string): string {
  const parts = token.split('.');
  parts[index] = segment;
  return parts.join('.');
}

describe('attacks on access tokens', () => {
  let server: TestServer;
  let victim: AuthPayload;
  let mallory: AuthPayload;
  /** mallory's real claims: the starting point of every forgery. */
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    server = await startServer(GENEROUS_LIMITS);
    victim = await signup(server, 'victim');
    mallory = await signup(server, 'mallory');
    claims = decodeClaims(mallory.accessToken);
  });
  afterAll(() => server.stop());

  /** Asserts the token is refused on `{ me }` with this reason. */
  async function expectRefused(token: string, reason: string): Promise<void> {
    expect(await meRefusal(server, `Bearer ${token}`), token).toBe(reason);
  }

  /** Asserts the token is accepted as mallory's. */
  async function expectAccepted(token: string): Promise<void> {
    const res = await server.gql<{ me: { id: string } }>('{ me { id } }', {}, { token });
    expect(res.body.errors, token).toBeUndefined();
    expect(res.body.data?.me.id).toBe(mallory.user.id);
  }

  it('control: the real token, and the same claims re-signed with the real secret by jsonwebtoken or by hand, are accepted', async () => {
    await expectAccepted(mallory.accessToken);
    await expectAccepted(signWith(claims));
    await expectAccepted(hmacToken(HEADER, claims, TEST_SECRET));
  });

  it('alg: none (any spelling) with the real payload and an empty signature is INVALID_TOKEN', async () => {
    // The original JWT bypass: a verifier that reads `alg` from the token skips the signature.
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const token = `${b64({ alg, typ: 'at+jwt' })}.${mallory.accessToken.split('.')[1]}.`;
      await expectRefused(token, 'INVALID_TOKEN');
      // Also with the original signature left in place, and with admin rights added.
      await expectRefused(withSegment(mallory.accessToken, 0, b64({ alg, typ: 'at+jwt' })), 'INVALID_TOKEN');
      await expectRefused(`${b64({ alg, typ: 'at+jwt' })}.${b64({ ...claims, roles: ['USER', 'ADMIN'] })}.`, 'INVALID_TOKEN');
    }
  });

  it('HS256 signed with a tutorial secret is INVALID_TOKEN', async () => {
    // Weak/default secret: anyone who read the same tutorial can mint tokens.
    for (const secret of ['secret', 'my_secret_key', 'super-secret', 'changeme', 'your-256-bit-secret']) {
      await expectRefused(signWith({ ...claims, roles: ['USER', 'ADMIN'] }, {}, { secret }), 'INVALID_TOKEN');
    }
  });

  it('RS256→HS256 confusion: HMAC keyed with an RSA public key PEM is INVALID_TOKEN; so is RS256 with an embedded key', async () => {
    // Algorithm confusion: a verifier that picks the algorithm from the header
    // HMACs with the (public) RSA key as the secret, which the attacker knows.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const forged = { ...claims, roles: ['USER', 'ADMIN'] };
    await expectRefused(hmacToken(HEADER, forged, publicKey), 'INVALID_TOKEN');
    await expectRefused(hmacToken(HEADER, forged, publicKey.trim()), 'INVALID_TOKEN');
    // A genuine RS256 token from the attacker's key pair, and the same with the
    // public key embedded as `jwk` (CVE-2018-0114: the verifier trusts the key in the token).
    const jwk = createPrivateKey(privateKey).export({ format: 'jwk' });
    const publicJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e };
    for (const header of [{ alg: 'RS256', typ: 'at+jwt' }, { alg: 'RS256', typ: 'at+jwt', jwk: publicJwk }]) {
      const input = `${b64(header)}.${b64(forged)}`;
      await expectRefused(`${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`, 'INVALID_TOKEN');
    }
    // ES256 "psychic signature" (CVE-2022-21449): r = s = 0 in DER.
    await expectRefused(`${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64(forged)}.MAYCAQACAQA`, 'INVALID_TOKEN');
  });

  it('claims tampered with (roles → ADMIN, sub → another user, exp pushed forward) under the original signature are INVALID_TOKEN', async () => {
    // Payload tampering: the signature covers header.payload, so any change must fail it.
    const [header, , signature] = mallory.accessToken.split('.');
    const exp = claims.exp as number;
    for (const tampered of [
      { ...claims, roles: ['USER', 'ADMIN'] },
      { ...claims, sub: victim.user.id },
      { ...claims, sub: victim.user.id, username: 'victim', sid: decodeClaims(victim.accessToken).sid },
      { ...claims, exp: exp + 365 * 86_400 },
    ]) {
      await expectRefused(`${header}.${b64(tampered)}.${signature}`, 'INVALID_TOKEN');
    }
  });

  it('a null signature (header.payload. and header.payload.AAAA) is INVALID_TOKEN', async () => {
    // Verifiers that skip an empty or short signature.
    const [header, payload] = mallory.accessToken.split('.');
    await expectRefused(`${header}.${payload}.`, 'INVALID_TOKEN');
    await expectRefused(`${header}.${payload}.AAAA`, 'INVALID_TOKEN');
    await expectRefused(`${header}.${payload}.${'A'.repeat(43)}`, 'INVALID_TOKEN');
  });

  it('kid injection (path traversal, SQL) on a correctly signed token is INVALID_TOKEN', async () => {
    // Verifiers that look the key up by `kid` in a file or a table.
    for (const kid of ['../../../../dev/null', "' OR 1=1 --", '']) {
      await expectRefused(signWith(claims, { kid }), 'INVALID_TOKEN');
    }
  });

  it('jku and x5u pointing at an attacker URL, jwk and x5c embedding a key, on a correctly signed token, are INVALID_TOKEN', async () => {
    // Verifiers that fetch (or take) the verification key from where the token says.
    await expectRefused(signWith(claims, { jku: 'http://127.0.0.1:1/jwks' }), 'INVALID_TOKEN');
    await expectRefused(signWith(claims, { x5u: 'http://127.0.0.1:1/jwks' }), 'INVALID_TOKEN');
    await expectRefused(signWith(claims, { jwk: { kty: 'oct', k: b64(TEST_SECRET) } }), 'INVALID_TOKEN');
    await expectRefused(signWith(claims, { x5c: ['MIIB'] }), 'INVALID_TOKEN');
  });

  it('crit: ["exp"] on a correctly signed token is INVALID_TOKEN', async () => {
    // RFC 7515 §4.1.11: a critical extension the verifier does not understand must make it reject the token.
    await expectRefused(signWith(claims, { crit: ['exp'] }), 'INVALID_TOKEN');
  });

  it('control: removing the bad header parameter makes the same token accepted', async () => {
    // Shows the refusals above come from the parameter alone, not from the forging.
    const withKid = signWith(claims, { kid: '../../../../dev/null' });
    await expectRefused(withKid, 'INVALID_TOKEN');
    const header = JSON.parse(Buffer.from(withKid.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    delete header.kid;
    await expectAccepted(hmacToken(header, decodeClaims(withKid), TEST_SECRET));
    await expectAccepted(signWith(claims, {}));
  });

  it('a not-yet-valid token (nbf in the future), correctly signed, is INVALID_TOKEN', async () => {
    // A token minted for later must not work now.
    await expectRefused(signWith({ ...claims, nbf: Math.floor(Date.now() / 1000) + 3_600 }), 'INVALID_TOKEN');
  });

  it('wrong iss, wrong aud, or typ JWT, each correctly signed, are INVALID_TOKEN', async () => {
    // Token substitution: a token another issuer (or for another audience, or of another type) signed with a shared key.
    await expectRefused(signWith({ ...claims, iss: 'https://evil.example' }), 'INVALID_TOKEN');
    await expectRefused(signWith({ ...claims, aud: 'another-service' }), 'INVALID_TOKEN');
    const { iss: _iss, aud: _aud, ...anonymous } = claims;
    await expectRefused(signWith(anonymous), 'INVALID_TOKEN');
    await expectRefused(signWith(claims, { typ: 'JWT' }), 'INVALID_TOKEN');
    await expectRefused(jwt.sign(claims, TEST_SECRET, { algorithm: 'HS256' }), 'INVALID_TOKEN');
  });

  it('a token signed with the right secret but HS512 (or HS384) is INVALID_TOKEN', async () => {
    // The algorithm is pinned, not read from the token.
    await expectRefused(signWith(claims, {}, { algorithm: 'HS512' }), 'INVALID_TOKEN');
    await expectRefused(signWith(claims, {}, { algorithm: 'HS384' }), 'INVALID_TOKEN');
    await expectRefused(hmacToken({ alg: 'HS512', typ: 'at+jwt' }, claims, TEST_SECRET, 'sha512'), 'INVALID_TOKEN');
  });

  it('a refresh token in the Authorization header is INVALID_TOKEN', async () => {
    // Token-type confusion: the long-lived token must not open protected fields.
    await expectRefused(mallory.refreshToken, 'INVALID_TOKEN');
  });

  it('an access token given to refreshToken is INVALID_REFRESH_TOKEN', async () => {
    // The reverse confusion: a short-lived token must not buy a new pair.
    const res = await server.gql(REFRESH, { t: mallory.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(errorCode(res)).toBe('INVALID_REFRESH_TOKEN');
  });

  it('extra or missing segments (JWE-like, JSON serialization) are INVALID_TOKEN', async () => {
    const [header, payload, signature] = mallory.accessToken.split('.');
    await expectRefused(`${header}.${payload}.${signature}.${signature}.AAAA`, 'INVALID_TOKEN');
    await expectRefused(`${header}.${payload}`, 'INVALID_TOKEN');
    await expectRefused(b64({ protected: header, payload, signature }), 'INVALID_TOKEN');
  });

  it('after every attack, mallory still holds a working token and victim is untouched', async () => {
    await expectAccepted(mallory.accessToken);
    const res = await server.gql<{ me: { id: string; roles: string[] } }>('{ me { id roles } }', {}, { token: victim.accessToken });
    expect(res.body.data?.me).toEqual({ id: victim.user.id, roles: ['USER'] });
  });
});

describe('expiry', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(GENEROUS_LIMITS, { deps: { clock } });
  });
  afterAll(() => server.stop());

  it('an expired token is TOKEN_EXPIRED, with no leeway; an expired forged one stays INVALID_TOKEN', async () => {
    // Replay of an old token: exp must be enforced exactly.
    const pair = await signup(server, 'sleeper');
    clock.advance(15 * 60 - 1);
    const stillValid = await server.gql('{ me { id } }', {}, { token: pair.accessToken });
    expect(stillValid.body.data).toEqual({ me: { id: pair.user.id } });
    clock.advance(1);
    expect(await meRefusal(server, `Bearer ${pair.accessToken}`)).toBe('TOKEN_EXPIRED');
    // The signature is checked first: "expired" must not be an oracle for forged tokens.
    const claims = decodeClaims(pair.accessToken);
    expect(await meRefusal(server, `Bearer ${signWith(claims, {}, { secret: 'secret' })}`)).toBe('INVALID_TOKEN');
    expect(await meRefusal(server, `Bearer ${withSegment(pair.accessToken, 1, b64({ ...claims, roles: ['USER', 'ADMIN'] }))}`)).toBe('INVALID_TOKEN');
  });
});
