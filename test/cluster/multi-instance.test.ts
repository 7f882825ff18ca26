import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { AUTH_FIELDS, type AuthPayload } from '../helpers/server.js';

/*
 * Two real tokengate processes behind no balancer, sharing one PostgreSQL
 * (and, in the first mode, one Redis): what one instance changes, the other
 * must honour on the very next request.
 */
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const PASSWORD = 'correct horse battery';

function sidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
}

describe.each([
  { mode: 'PostgreSQL + Redis', redis: true },
  { mode: 'PostgreSQL only', redis: false },
])('two instances on $mode', ({ redis }) => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;
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
    // Started together: both run the migrations at once, and the migrator's lock must make that safe.
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
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
