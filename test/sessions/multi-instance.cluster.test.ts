import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { decodeHeader } from '../helpers/jwt.js';
import { writeTestKey, type TestKey } from '../helpers/keys.js';
import { AUTH_FIELDS, type AuthPayload } from '../helpers/server.js';

/*
 * Two real tokengate processes behind no balancer, sharing one PostgreSQL
 * (and, in the first mode, one Redis): what one instance changes, the other
 * must honour on the very next request. The first mode signs with ES256,
 * both instances reading the same key files, so every token below crosses
 * instances under a key pair; the second keeps the HS256 default.
 */
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const PASSWORD = 'correct horse battery';

function sidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
}

describe.each([
  { mode: 'PostgreSQL + Redis, ES256', redis: true, algorithm: 'ES256' as const },
  { mode: 'PostgreSQL only, HS256', redis: false, algorithm: 'HS256' as const },
])('two instances on $mode', ({ redis, algorithm }) => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;
  const keyDir = mkdtempSync(path.join(tmpdir(), 'tokengate-cluster-keys-'));
  let activeKey: TestKey | null = null;
  let earlierKey: TestKey | null = null;
  const prefix = `tg-cluster-${randomBytes(4).toString('hex')}:`;

  const signup = async (on: Instance, username: string): Promise<AuthPayload> => {
    const res = await on.gql<{ signup: AuthPayload }>(SIGNUP, { u: username, p: PASSWORD });
    if (!res.body.data?.signup) throw new Error(JSON.stringify(res.body));
    return res.body.data.signup;
  };
  const login = async (on: Instance, username: string, password = PASSWORD): Promise<AuthPayload> => {
    const res = await on.gql<{ login: AuthPayload }>(LOGIN, { u: username, p: password });
    if (!res.body.data?.login) throw new Error(JSON.stringify(res.body));
    return res.body.data.login;
  };
  const reasonOn = async (on: Instance, token: string) => (await on.gql('{ me { id } }', {}, token)).body.errors?.[0]?.extensions?.reason ?? 'OK';

  beforeAll(async () => {
    database = await createDatabase();
    const env: Record<string, string> = { DATABASE_URL: database.url, REFRESH_REUSE_GRACE: '2s' };
    if (redis) Object.assign(env, { REDIS_URL: serviceUrls().redisUrl, REDIS_PREFIX: prefix });
    if (algorithm !== 'HS256') {
      // One set of key files for the deployment, as an operator mounts them on every instance.
      activeKey = writeTestKey(keyDir, algorithm, 'active');
      earlierKey = writeTestKey(keyDir, algorithm, 'earlier');
      Object.assign(env, { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY_FILE: activeKey.file, JWT_VERIFY_KEY_FILES: earlierKey.file });
    }
    // Started together: both run the migrations at once, and the migrator's lock must make that safe.
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it(`both instances sign with ${algorithm} and publish the same JWKS`, async () => {
    const [jwksA, jwksB] = await Promise.all([a, b].map(async (on) => (await fetch(`${on.url}/.well-known/jwks.json`)).json()));
    expect(jwksA).toEqual(jwksB);
    const kids = (jwksA as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    expect(kids).toEqual(activeKey && earlierKey ? [activeKey.kid, earlierKey.kid] : []);
    const onA = await signup(a, 'keyed');
    const onB = await login(b, 'keyed');
    for (const token of [onA.accessToken, onB.accessToken]) {
      expect(decodeHeader(token)).toEqual(activeKey ? { alg: 'ES256', typ: 'at+jwt', kid: activeKey.kid } : { alg: 'HS256', typ: 'at+jwt' });
      expect(await reasonOn(a, token)).toBe('OK');
      expect(await reasonOn(b, token)).toBe('OK');
    }
  });

  it('a logout on A is refused on B on the very next request, every time', async () => {
    await signup(a, 'wanda');
    let accepted = 0;
    const tries = 25;
    for (let i = 0; i < tries; i++) {
      const pair = await login(a, 'wanda');
      expect(await reasonOn(b, pair.accessToken)).toBe('OK'); // B has seen (and cached) the session
      const out = await a.gql<{ logout: boolean }>('mutation { logout }', {}, pair.accessToken);
      expect(out.body.data?.logout).toBe(true);
      if ((await reasonOn(b, pair.accessToken)) !== 'TOKEN_REVOKED') accepted++;
    }
    // The measured revocation window: the first request after the logout answered is refused.
    expect(accepted).toBe(0);
  });

  it('a logout stays refused everywhere when Redis loses its state (eviction, flush, expiry)', async () => {
    const pair = await signup(a, 'evicted');
    expect(await reasonOn(b, pair.accessToken)).toBe('OK'); // B caches the session under the current epoch
    expect((await a.gql<{ logout: boolean }>('mutation { logout }', {}, pair.accessToken)).body.data?.logout).toBe(true);
    const client = new Redis(serviceUrls().redisUrl);
    try {
      // With Redis the user's epoch key exists and is lost here; without it there is none to lose.
      const deleted = await client.del(`${prefix}auth-epoch:${pair.user.id}`);
      expect(deleted).toBe(redis ? 1 : 0);
    } finally {
      client.disconnect();
    }
    expect(await reasonOn(b, pair.accessToken)).toBe('TOKEN_REVOKED');
    expect(await reasonOn(a, pair.accessToken)).toBe('TOKEN_REVOKED');
  });

  it('logoutAll on B ends the sessions A knows', async () => {
    await signup(b, 'xena');
    const pairs = [await login(a, 'xena'), await login(b, 'xena'), await login(a, 'xena')];
    for (const p of pairs) expect(await reasonOn(a, p.accessToken)).toBe('OK');
    const res = await b.gql<{ logoutAll: number }>('mutation { logoutAll }', {}, pairs[1]!.accessToken);
    expect(res.body.data?.logoutAll).toBe(4); // the signup's session too
    for (const p of pairs) {
      expect(await reasonOn(a, p.accessToken)).toBe('TOKEN_REVOKED');
      expect(await reasonOn(b, p.accessToken)).toBe('TOKEN_REVOKED');
    }
  });

  it('changePassword on A ends the other sessions on B; the new password works on B', async () => {
    const caller = await signup(a, 'yuri');
    const other = await login(b, 'yuri');
    expect(await reasonOn(b, other.accessToken)).toBe('OK');
    const res = await a.gql(
      'mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { accessToken } }',
      { c: PASSWORD, n: 'a whole new secret' },
      caller.accessToken,
    );
    expect(res.body.errors).toBeUndefined();
    expect(await reasonOn(b, other.accessToken)).toBe('TOKEN_REVOKED');
    expect(await reasonOn(b, caller.accessToken)).toBe('OK');
    await login(b, 'yuri', 'a whole new secret');
  });

  it('roles granted on A apply on B from the next request', async () => {
    const admin = await signup(a, 'zara');
    // Make zara an admin directly in the database, as an operator would with user:create.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(`update users set roles = '["USER","ADMIN"]' where username_key = 'zara'`);
    await client.end();
    const adminNow = await login(a, 'zara');
    const user = await signup(a, 'ulrich');
    expect((await b.gql('{ users { totalCount } }', {}, user.accessToken)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const granted = await a.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { roles } }', { id: user.user.id }, adminNow.accessToken);
    expect(granted.body.errors).toBeUndefined();
    expect((await b.gql('{ users { totalCount } }', {}, user.accessToken)).body.errors).toBeUndefined();
    await a.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER]) { roles } }', { id: user.user.id }, adminNow.accessToken);
    expect((await b.gql('{ users { totalCount } }', {}, user.accessToken)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(admin.user.username).toBe('zara');
  });

  it('refresh-token reuse on B after the grace window revokes a session rotated on A', async () => {
    const start = await signup(a, 'victor');
    const rotated = (await a.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: start.refreshToken })).body.data!.refreshToken;
    expect(await reasonOn(b, rotated.accessToken)).toBe('OK');
    await new Promise((r) => setTimeout(r, 2_200));
    const reuse = await b.gql(REFRESH, { t: start.refreshToken });
    expect(reuse.body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
    expect(await reasonOn(a, rotated.accessToken)).toBe('TOKEN_REVOKED');
    expect(await reasonOn(b, rotated.accessToken)).toBe('TOKEN_REVOKED');
    expect((await a.gql(REFRESH, { t: rotated.refreshToken })).body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('20 parallel refreshes of one token over both instances agree on one chain', async () => {
    const start = await signup(a, 'racer');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).gql<{ refreshToken: AuthPayload }>(REFRESH, { t: start.refreshToken })),
    );
    const errors = results.filter((r) => r.body.errors);
    expect(errors.map((r) => r.body.errors)).toEqual([]);
    const tokens = new Set(results.map((r) => r.body.data!.refreshToken.refreshToken));
    expect(tokens.size).toBe(1);
    for (const r of results) expect(sidOf(r.body.data!.refreshToken.accessToken)).toBe(sidOf(start.accessToken));

    // In the database: one rotation happened, and exactly one live token remains.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const session = await client.query('select refresh_generation from sessions where id = $1', [sidOf(start.accessToken)]);
      expect(session.rows[0].refresh_generation).toBe(1);
      const live = await client.query('select count(*)::int as n from refresh_tokens where session_id = $1 and used_at is null', [sidOf(start.accessToken)]);
      expect(live.rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
    // And the chain goes on, on either instance.
    const next = await b.gql(REFRESH, { t: [...tokens][0] });
    expect(next.body.errors).toBeUndefined();
  });
});
