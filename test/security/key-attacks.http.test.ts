import { createHmac, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/tokens/access-token.js';
import { createStorage, type Storage } from '../helpers/backend.js';
import { decodeHeader } from '../helpers/jwt.js';
import { signJws, writeTestKey, type TestKey } from '../helpers/keys.js';
import { signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { GENEROUS_LIMITS, b64, decodeClaims, meRefusal } from './security-helpers.js';

/*
 * Attacks on RS256/ES256 access tokens (docs/api.md, "Signing keys"),
 * over real HTTP to `{ me { id } }`. Each attack comes with a control that
 * would pass if the defence were removed: the forged token is shown to be
 * well made (a naive verifier, or the same construction with the one flaw
 * fixed, accepts it), so its refusal is the defence's doing and not a
 * by-product of a broken forgery.
 */

describe.each(['ES256', 'RS256'] as const)('attacks on a %s deployment', (algorithm) => {
  let storage: Storage;
  let server: TestServer;
  let key: TestKey;
  /** A key pair of the same type that the server was never given. */
  let attacker: TestKey;
  /** An earlier signer the server still trusts, of the other type. */
  let earlier: TestKey;
  let mallory: AuthPayload;
  let claims: Record<string, unknown>;
  let jwksPem: string;

  beforeAll(async () => {
    storage = await createStorage();
    key = writeTestKey(storage.dir, algorithm, 'active');
    earlier = writeTestKey(storage.dir, algorithm === 'ES256' ? 'RS256' : 'ES256', 'earlier');
    attacker = writeTestKey(storage.dir, algorithm, 'attacker');
    server = await startServer({ ...GENEROUS_LIMITS, JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY_FILE: key.file, JWT_VERIFY_KEY_FILES: earlier.publicFile }, { storage });
    mallory = await signup(server, 'mallory');
    claims = { ...decodeClaims(mallory.accessToken), roles: ['USER', 'ADMIN'] };
    // What an attacker has: the published JWK, turned back into a PEM.
    const { keys } = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    jwksPem = createPublicKey({ key: keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
  });

  const header = (extra: Record<string, unknown> = {}) => ({ alg: algorithm, typ: 'at+jwt', kid: key.kid, ...extra });

  async function expectRefused(token: string): Promise<void> {
    expect(await meRefusal(server, `Bearer ${token}`), token).toBe('INVALID_TOKEN');
  }
  async function expectAccepted(token: string): Promise<void> {
    const res = await server.gql<{ me: { id: string } }>('{ me { id } }', {}, { token });
    expect(res.body.errors, token).toBeUndefined();
    expect(res.body.data?.me.id).toBe(mallory.user.id);
  }

  it('control: the real token, and the forged claims signed by hand with the real key, are accepted', async () => {
    expect(decodeHeader(mallory.accessToken)).toEqual(header());
    await expectAccepted(mallory.accessToken);
    await expectAccepted(signJws(header(), claims, key.privateKey));
  });

  it('HS256 "signed" with the published public key (PEM, trimmed PEM, DER) as the HMAC secret is INVALID_TOKEN', async () => {
    // Algorithm confusion: a verifier that takes alg from the token HMACs with the public key, which everyone has.
    const der = createPublicKey(jwksPem).export({ type: 'spki', format: 'der' });
    expect(jwksPem).toBe(key.publicPem);
    for (const secret of [jwksPem, jwksPem.trim(), der]) {
      for (const h of [{ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, { alg: 'HS256', typ: 'at+jwt' }]) {
        const input = `${b64(h)}.${b64(claims)}`;
        const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        // Control: a verifier confused into HS256 with the public key as its secret accepts the forgery.
        if (typeof secret === 'string' && !('kid' in h)) {
          const confused = new AccessTokens({ secret, issuer: 'tokengate', audience: 'tokengate', ttl: 900, clockTolerance: 0 });
          expect(confused.verify(token, Date.now()).ok).toBe(true);
        }
        await expectRefused(token);
      }
    }
  });

  it('alg none (any spelling), with the kid, is INVALID_TOKEN', async () => {
    const [, payload, signature] = mallory.accessToken.split('.');
    for (const alg of ['none', 'None', 'NONE']) {
      await expectRefused(`${b64(header({ alg }))}.${b64(claims)}.`);
      await expectRefused(`${b64(header({ alg }))}.${payload}.${signature}`);
    }
    // Control: the same header and claims with alg restored and a real signature pass.
    await expectAccepted(signJws(header(), claims, key.privateKey));
  });

  it('a token without kid is INVALID_TOKEN, though correctly signed', async () => {
    const { kid: _kid, ...noKid } = header();
    await expectRefused(signJws(noKid, claims, key.privateKey));
    // Control: put the kid back, same key, same claims: accepted.
    await expectAccepted(signJws({ ...noKid, kid: key.kid }, claims, key.privateKey));
  });

  it('an unknown kid (the attacker\'s own thumbprint, injection strings, a lookalike) is INVALID_TOKEN, though correctly signed', async () => {
    // Verifiers that fetch or look up keys by kid, or that fall back to "any key" when the kid is unknown.
    for (const kid of [attacker.kid, `${key.kid.slice(0, -1)}${key.kid.endsWith('A') ? 'B' : 'A'}`, '../../../../dev/null', "' OR 1=1 --", '', key.kid.toLowerCase()]) {
      if (kid === key.kid) continue;
      await expectRefused(signJws(header({ kid }), claims, key.privateKey));
    }
    await expectRefused(signJws(header({ kid: attacker.kid }), claims, attacker.privateKey));
    // Control: the real kid with the real key.
    await expectAccepted(signJws(header({ kid: key.kid }), claims, key.privateKey));
  });

  it('a signature by another key claiming a known kid is INVALID_TOKEN', async () => {
    const forged = signJws(header(), claims, attacker.privateKey);
    // Control: the signature is genuine for the attacker's key, so a verifier that tried every key, or took the
    // key from the token, would accept it.
    const [h, p, s] = forged.split('.');
    const signature = Buffer.from(s!, 'base64url');
    const ok = cryptoVerify('sha256', Buffer.from(`${h}.${p}`), algorithm === 'ES256' ? { key: attacker.publicKey, dsaEncoding: 'ieee-p1363' } : attacker.publicKey, signature);
    expect(ok).toBe(true);
    await expectRefused(forged);
    await expectRefused(signJws(header({ jwk: attacker.publicKey.export({ format: 'jwk' }) }), claims, attacker.privateKey));
    // The earlier key's kid with the earlier key's algorithm but the attacker's signature: refused too.
    await expectRefused(signJws({ alg: earlier.algorithm, typ: 'at+jwt', kid: earlier.kid }, claims, attacker.privateKey));
  });

  it('the algorithm is pinned per key: the earlier key\'s kid with this key\'s algorithm and signature is INVALID_TOKEN', async () => {
    await expectRefused(signJws({ alg: algorithm, typ: 'at+jwt', kid: earlier.kid }, claims, key.privateKey));
    await expectRefused(signJws({ alg: earlier.algorithm, typ: 'at+jwt', kid: key.kid }, claims, earlier.privateKey));
    // Control: each key with its own kid and algorithm passes.
    await expectAccepted(signJws({ alg: earlier.algorithm, typ: 'at+jwt', kid: earlier.kid }, claims, earlier.privateKey));
  });

  it('a tampered payload under the original signature is INVALID_TOKEN', async () => {
    const [h, , s] = mallory.accessToken.split('.');
    const original = decodeClaims(mallory.accessToken);
    for (const tampered of [claims, { ...original, exp: (original.exp as number) + 86_400 }, { ...original, sid: 'another' }]) {
      await expectRefused(`${h}.${b64(tampered)}.${s}`);
    }
    // Control: the untouched token passes, and one signature byte changed fails.
    await expectAccepted(mallory.accessToken);
    await expectRefused(`${h}.${mallory.accessToken.split('.')[1]}.${s![0] === 'A' ? 'B' : 'A'}${s!.slice(1)}`);
  });

  it('after every attack, the real token still works', async () => {
    await expectAccepted(mallory.accessToken);
  });
});
