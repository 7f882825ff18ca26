import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createStorage } from '../helpers/backend.js';
import { decodeHeader } from '../helpers/jwt.js';
import { writeTestKey } from '../helpers/keys.js';
import { AUTH_FIELDS, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

/*
 * The rotation runbook of the README, across real restarts on the same
 * database: a token minted before the rotation keeps working after it, new
 * tokens carry the new kid, and once the old key is dropped its tokens are
 * INVALID_TOKEN while the sessions (and their refresh tokens) live on.
 */

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;

async function meOf(server: TestServer, token: string): Promise<unknown> {
  const res = await server.gql<{ me: { username: string } }>('{ me { username } }', {}, { token });
  return res.body.data?.me?.username ?? res.body.errors?.[0]?.extensions?.reason;
}

async function jwksKids(server: TestServer): Promise<unknown[]> {
  const body = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return body.keys.map((k) => k.kid);
}

describe.each(['ES256', 'RS256'] as const)('rotating the %s signing key', (algorithm) => {
  it('logs nobody out: old tokens verify during the overlap, new ones carry the new kid, dropped keys stop verifying', async () => {
    const storage = await createStorage();
    const oldKey = writeTestKey(storage.dir, algorithm, 'key-2026-01');
    const newKey = writeTestKey(storage.dir, algorithm, 'key-2026-02');
    const env = (extra: Record<string, string>) => ({ JWT_ALGORITHM: algorithm, ...extra });
    let server: TestServer | null = null;
    try {
      // 1. Before: the old key signs.
      server = await startServer(env({ JWT_PRIVATE_KEY_FILE: oldKey.file }), { storage });
      const before: AuthPayload = await signup(server, 'rita');
      expect(decodeHeader(before.accessToken).kid).toBe(oldKey.kid);
      expect(await jwksKids(server)).toEqual([oldKey.kid]);
      await server.app.stop();

      // 2. Deploy the new key as active, the old one (its private key file, as the runbook says) still verifying.
      server = await startServer(env({ JWT_PRIVATE_KEY_FILE: newKey.file, JWT_VERIFY_KEY_FILES: oldKey.file }), { storage });
      expect(await jwksKids(server)).toEqual([newKey.kid, oldKey.kid]);
      expect(await meOf(server, before.accessToken)).toBe('rita');
      // A third-party verifier following our JWKS accepts both during the overlap.
      const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
      await expect(jwtVerify(before.accessToken, jwks, { issuer: 'tokengate', audience: 'tokengate', typ: 'at+jwt' })).resolves.toBeTruthy();
      const relogged = await login(server, 'rita');
      const rotated = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: before.refreshToken })).body.data!.refreshToken;
      for (const token of [relogged.accessToken, rotated.accessToken]) {
        expect(decodeHeader(token).kid).toBe(newKey.kid);
        expect(await meOf(server, token)).toBe('rita');
      }
      await expect(jwtVerify(rotated.accessToken, jwks, { issuer: 'tokengate', audience: 'tokengate', typ: 'at+jwt' })).resolves.toBeTruthy();
      await server.app.stop();

      // 3. After one access-token lifetime: drop the old key.
      server = await startServer(env({ JWT_PRIVATE_KEY_FILE: newKey.file }), { storage });
      expect(await jwksKids(server)).toEqual([newKey.kid]);
      expect(await meOf(server, before.accessToken)).toBe('INVALID_TOKEN');
      expect(await meOf(server, rotated.accessToken)).toBe('rita');
      expect(await meOf(server, relogged.accessToken)).toBe('rita');
      // Nobody was logged out: the refresh chain (keyed by JWT_SECRET, not by a signing key) carries on.
      const next = await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: rotated.refreshToken });
      expect(next.body.errors).toBeUndefined();
      expect(decodeHeader(next.body.data!.refreshToken.accessToken).kid).toBe(newKey.kid);
    } finally {
      await server?.app.stop();
      await storage.dispose();
    }
  });
});

describe('switching from HS256 to ES256', () => {
  it('keeps sessions: old HS256 access tokens are INVALID_TOKEN, their refresh tokens still buy ES256 tokens', async () => {
    const storage = await createStorage();
    const key = writeTestKey(storage.dir, 'ES256', 'first-key');
    let server: TestServer | null = null;
    try {
      server = await startServer({}, { storage });
      const hs = await signup(server, 'hugo');
      await server.app.stop();
      server = await startServer({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: key.file }, { storage });
      expect(await meOf(server, hs.accessToken)).toBe('INVALID_TOKEN');
      const res = await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: hs.refreshToken });
      expect(res.body.errors).toBeUndefined();
      const token = res.body.data!.refreshToken.accessToken;
      expect(decodeHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: key.kid });
      expect(await meOf(server, token)).toBe('hugo');
    } finally {
      await server?.app.stop();
      await storage.dispose();
    }
  });
});
