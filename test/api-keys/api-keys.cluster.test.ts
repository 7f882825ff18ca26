import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { AUTH_FIELDS, type AuthPayload, type GqlResponse } from '../helpers/server.js';
import { connectWs, subscribe } from '../helpers/ws.js';

/*
 * API keys across two real tokengate processes sharing PostgreSQL (with
 * Redis, and without): a key revoked on one instance is refused on the
 * other's very next request, though the other had checked (and cached) it
 * just before, and the sockets opened with it there close with 4403
 * TOKEN_REVOKED. The ADMIN scopes follow the owner's role on every instance.
 * The authorization trace (AUTH_TRACE=true in production) is read on both.
 */
const PASSWORD = 'correct horse battery';
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const CREATE = 'mutation ($s: [ApiScope!]!) { createApiKey(name: "cluster", scopes: $s) { key apiKey { id } } }';
const ME = '{ me { id } }';

const reasonOf = (res: GqlResponse) => res.body.errors?.[0]?.extensions?.reason;

describe.each([
  { mode: 'PostgreSQL + Redis', redis: true },
  { mode: 'PostgreSQL only', redis: false },
])('API keys on two instances on $mode', ({ redis }) => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let admin: AuthPayload;

  beforeAll(async () => {
    database = await createDatabase();
    const env: Record<string, string> = { DATABASE_URL: database.url, ADMIN_USERNAME: 'cluster-admin', ADMIN_PASSWORD: 'admin password 1', AUTH_TRACE: 'true' };
    if (redis) Object.assign(env, { REDIS_URL: serviceUrls().redisUrl, REDIS_PREFIX: `tg-keys-${randomBytes(4).toString('hex')}:` });
    a = await startInstance('A', env);
    b = await startInstance('B', env);
    admin = (await a.gql<{ login: AuthPayload }>(LOGIN, { u: 'cluster-admin', p: 'admin password 1' })).body.data!.login;
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  async function keyFor(instance: Instance, token: string, scopes: string[]): Promise<{ key: string; id: string }> {
    const res = await instance.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(CREATE, { s: scopes }, token);
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return { key: res.body.data.createApiKey.key, id: res.body.data.createApiKey.apiKey.id };
  }

  it('refuses a key revoked on A on B’s next request, and closes B’s sockets opened with it (4403 TOKEN_REVOKED)', async () => {
    const user = `keys-${randomBytes(3).toString('hex')}`;
    const pair = (await a.gql<{ signup: AuthPayload }>(SIGNUP, { u: user, p: PASSWORD })).body.data!.signup;
    const { key, id } = await keyFor(a, pair.accessToken, ['PROFILE', 'SESSIONS']);
    const other = await keyFor(a, pair.accessToken, ['PROFILE']);
    // B checks both keys first, so it holds them in its cache.
    for (let i = 0; i < 2; i++) {
      expect((await b.gql(ME, {}, key)).body.errors).toBeUndefined();
      expect((await b.gql(ME, {}, other.key)).body.errors).toBeUndefined();
    }
    const ws = connectWs(b.url, { token: key });
    await ws.connected;
    const events = subscribe(ws.client, 'subscription { sessionEvents { kind } }');
    await a.gql(LOGIN, { u: user, p: PASSWORD });
    expect((await events.next()).data).toEqual({ sessionEvents: { kind: 'CREATED' } });

    const revoked = await a.gql<{ revokeApiKey: boolean }>('mutation ($id: ID!) { revokeApiKey(id: $id) }', { id }, pair.accessToken);
    expect(revoked.body.data?.revokeApiKey).toBe(true);
    expect(reasonOf(await b.gql(ME, {}, key))).toBe('TOKEN_REVOKED');
    expect(reasonOf(await a.gql(ME, {}, key))).toBe('TOKEN_REVOKED');
    expect(await ws.closed).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    // The user's other key is untouched, on both.
    expect((await b.gql(ME, {}, other.key)).body.errors).toBeUndefined();

    // An ADMIN's revokeUserApiKeys on B ends it for A too.
    const count = await b.gql<{ revokeUserApiKeys: number }>('mutation ($u: ID!) { revokeUserApiKeys(userId: $u) }', { u: pair.user.id }, admin.accessToken);
    expect(count.body.data?.revokeUserApiKeys).toBe(1);
    expect(reasonOf(await a.gql(ME, {}, other.key))).toBe('TOKEN_REVOKED');
  });

  it('lets the ADMIN scopes act only while the owner is ADMIN, on every instance', async () => {
    const user = `keyadmin-${randomBytes(3).toString('hex')}`;
    const pair = (await a.gql<{ signup: AuthPayload }>(SIGNUP, { u: user, p: PASSWORD })).body.data!.signup;
    await a.gql('mutation ($u: ID!) { setUserRoles(userId: $u, roles: [USER, ADMIN]) { id } }', { u: pair.user.id }, admin.accessToken);
    const fresh = (await a.gql<{ login: AuthPayload }>(LOGIN, { u: user, p: PASSWORD })).body.data!.login;
    const { key } = await keyFor(a, fresh.accessToken, ['ADMIN_READ']);
    expect((await b.gql<{ users: { totalCount: number } }>('{ users { totalCount } }', {}, key)).body.data?.users.totalCount).toBeGreaterThan(1);
    await a.gql('mutation ($u: ID!) { setUserRoles(userId: $u, roles: [USER]) { id } }', { u: pair.user.id }, admin.accessToken);
    const refused = await b.gql('{ users { totalCount } }', {}, key);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers extensions.authTrace with AUTH_TRACE=true, on both instances', async () => {
    const user = `trace-${randomBytes(3).toString('hex')}`;
    const pair = (await a.gql<{ signup: AuthPayload }>(SIGNUP, { u: user, p: PASSWORD })).body.data!.signup;
    for (const instance of [a, b]) {
      const res = await instance.gql<{ me: { id: string } }>('{ me { id email } users { totalCount } }', {}, pair.accessToken);
      const trace = [...(res.body.extensions?.authTrace as Array<{ path: string }>)].sort((x, y) => x.path.localeCompare(y.path));
      expect(trace).toEqual([
        { path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: true, reason: null },
        { path: 'me.email', rule: '@self', allowed: true, reason: null },
        { path: 'users', rule: '@hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ)', allowed: false, reason: 'FORBIDDEN' },
      ]);
    }
  });
});
