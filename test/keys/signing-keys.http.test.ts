import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, type Storage } from '../helpers/backend.js';
import { decodeClaims, decodeHeader } from '../helpers/jwt.js';
import { signJws, writeTestKey, type TestKey } from '../helpers/keys.js';
import { AUTH_FIELDS, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

/*
 * RS256 and ES256 deployments end to end over HTTP (docs/api.md,
 * "Signing keys"): tokens carry the active key's kid, the JWKS publishes
 * every key with public members only, and a third-party verifier that knows
 * nothing but the JWKS URL (jose's createRemoteJWKSet) accepts our tokens.
 */

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;

describe.each(['ES256', 'RS256'] as const)('a %s deployment', (algorithm) => {
  let storage: Storage;
  let server: TestServer;
  let active: TestKey;
  let earlier: TestKey;
  let alice: AuthPayload;

  beforeAll(async () => {
    storage = await createStorage();
    active = writeTestKey(storage.dir, algorithm, 'active');
    // An earlier signer of the other type, listed by its public key: a rotation may change algorithm too.
    earlier = writeTestKey(storage.dir, algorithm === 'ES256' ? 'RS256' : 'ES256', 'earlier');
    server = await startServer(
      { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY_FILE: active.file, JWT_VERIFY_KEY_FILES: earlier.publicFile, JWT_HASURA_CLAIMS: algorithm === 'ES256' ? 'true' : 'false' },
      { storage },
    );
    alice = await signup(server, 'alice');
  });
  afterAll(async () => {
    await server?.stop();
    await storage?.dispose();
  });

  it('publishes every key, active first, with kty, kid, use, alg and public members only, cacheable for at most an hour', async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const cacheControl = res.headers.get('cache-control') ?? '';
    expect(cacheControl).toMatch(/^public, max-age=\d+$/);
    expect(Number(/max-age=(\d+)/.exec(cacheControl)![1])).toBeLessThanOrEqual(3600);
    const { keys } = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.map((k) => k.kid)).toEqual([active.kid, earlier.kid]);
    const publicMembers = (alg: string) => (alg === 'ES256' ? ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'] : ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(Object.keys(keys[0]!).sort()).toEqual(publicMembers(algorithm));
    expect(keys[0]).toMatchObject({ kty: algorithm === 'ES256' ? 'EC' : 'RSA', use: 'sig', alg: algorithm });
    expect(Object.keys(keys[1]!).sort()).toEqual(publicMembers(earlier.algorithm));
    // Exactly the public key the operator deployed.
    const exported = active.publicKey.export({ format: 'jwk' });
    expect(keys[0]).toMatchObject(algorithm === 'ES256' ? { x: exported.x, y: exported.y, crv: 'P-256' } : { n: exported.n, e: exported.e });
  });

  it('signs signup, login and refresh tokens with the active key and its kid; they open protected fields', async () => {
    const logged = await login(server, 'alice');
    const refreshed = await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: logged.refreshToken });
    for (const token of [alice.accessToken, logged.accessToken, refreshed.body.data!.refreshToken.accessToken]) {
      expect(decodeHeader(token)).toEqual({ alg: algorithm, typ: 'at+jwt', kid: active.kid });
      const me = await server.gql<{ me: { username: string } }>('{ me { username } }', {}, { token });
      expect(me.body).toEqual({ data: { me: { username: 'alice' } } });
    }
  });

  it('a third-party verifier with nothing but the JWKS URL (jose createRemoteJWKSet) accepts our tokens, checking iss, aud and typ', async () => {
    const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(alice.accessToken, jwks, {
      issuer: 'tokengate',
      audience: 'tokengate',
      typ: 'at+jwt',
      algorithms: [algorithm],
    });
    expect(protectedHeader).toMatchObject({ alg: algorithm, kid: active.kid, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: alice.user.id, username: 'alice', roles: ['USER'], iss: 'tokengate', aud: 'tokengate' });
    // Those checks are real: a verifier expecting another issuer, audience or type refuses the same token.
    await expect(jwtVerify(alice.accessToken, jwks, { issuer: 'someone-else', audience: 'tokengate', typ: 'at+jwt' })).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
    await expect(jwtVerify(alice.accessToken, jwks, { issuer: 'tokengate', audience: 'another-api', typ: 'at+jwt' })).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
    await expect(jwtVerify(alice.accessToken, jwks, { issuer: 'tokengate', audience: 'tokengate', typ: 'JWT' })).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
    // And a tampered token fails its signature there too.
    const [h, p, s] = alice.accessToken.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeClaims(alice.accessToken), roles: ['USER', 'ADMIN'] })).toString('base64url')}.${s}`;
    expect(p).not.toBe(tampered.split('.')[1]);
    await expect(jwtVerify(tampered, jwks, { issuer: 'tokengate', audience: 'tokengate', typ: 'at+jwt' })).rejects.toBeInstanceOf(joseErrors.JWSSignatureVerificationFailed);
  });

  it(algorithm === 'ES256' ? 'adds the Hasura claims block when JWT_HASURA_CLAIMS=true' : 'leaves the Hasura claims out by default', () => {
    const claims = decodeClaims(alice.accessToken);
    if (algorithm === 'ES256') {
      expect(claims['https://hasura.io/jwt/claims']).toEqual({
        'x-hasura-user-id': alice.user.id,
        'x-hasura-default-role': 'user',
        'x-hasura-allowed-roles': ['user'],
      });
    } else {
      expect(claims).not.toHaveProperty(['https://hasura.io/jwt/claims']);
    }
  });

  it('answers a token of an earlier signer (of the other algorithm) but refuses one signed by a key it was never given', async () => {
    const claims = decodeClaims(alice.accessToken);
    const byEarlier = signJws({ alg: earlier.algorithm, typ: 'at+jwt', kid: earlier.kid }, claims, earlier.privateKey);
    expect((await server.gql('{ me { id } }', {}, { token: byEarlier })).body).toEqual({ data: { me: { id: alice.user.id } } });
    // An HS256 token of the same user, as a server on the HS256 default would have issued: refused, INVALID_TOKEN.
    const hsServer = await startServer({}, {});
    try {
      const hs = await signup(hsServer, 'alice');
      const res = await server.gql('{ me { id } }', {}, { token: hs.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    } finally {
      await hsServer.stop();
    }
  });
});

describe('an HS256 deployment', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('publishes an empty JWKS, cacheable, and signs without kid', async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(await res.json()).toEqual({ keys: [] });
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const pair = await signup(server, 'hal');
    expect(decodeHeader(pair.accessToken)).toEqual({ alg: 'HS256', typ: 'at+jwt' });
  });
});
