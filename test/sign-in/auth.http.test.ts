import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage } from '../helpers/backend.js';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { decodeClaims } from '../helpers/jwt.js';

const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;

describe('signup, login, me and protected', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('signs up, answers a Bearer pair, and the token reads me and protected', async () => {
    const pair = await signup(server, 'Alice');
    expect(pair.tokenType).toBe('Bearer');
    expect(pair.expiresIn).toBe(900);
    expect(pair.user).toMatchObject({ username: 'Alice', roles: ['USER'] });
    expect(new Date(pair.user.createdAt).toISOString()).toBe(pair.user.createdAt);
    expect(pair.refreshToken).not.toContain('.');

    const res = await server.gql<{ me: AuthPayload['user']; protected: { loggedInAs: string } }>(
      '{ me { id username roles } protected { loggedInAs } }',
      {},
      { token: pair.accessToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.me).toEqual({ id: pair.user.id, username: 'Alice', roles: ['USER'] });
    expect(res.body.data?.protected.loggedInAs).toBe('Alice');
  });

  it('compares usernames case-insensitively and shows them as first written', async () => {
    const pair = await login(server, 'aLiCe');
    const res = await server.gql<{ protected: { loggedInAs: string } }>('{ protected { loggedInAs } }', {}, { token: pair.accessToken });
    expect(res.body.data?.protected.loggedInAs).toBe('Alice');
    const taken = await server.gql(SIGNUP, { u: 'ALICE', p: 'another good password' });
    expect(errorCode(taken)).toBe('USERNAME_TAKEN');
    expect(taken.body.data).toBeNull();
  });

  it('refuses a wrong password and an unknown user with one code and one message', async () => {
    const wrong = await server.gql(LOGIN, { u: 'alice', p: 'not the password' });
    const unknown = await server.gql(LOGIN, { u: 'nobody-here', p: 'not the password' });
    const badName = await server.gql(LOGIN, { u: 'no spaces allowed', p: 'not the password' });
    for (const res of [wrong, unknown, badName]) {
      expect(res.status).toBe(200);
      expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
    }
    expect(unknown.body.errors?.[0]?.message).toBe(wrong.body.errors?.[0]?.message);
    expect(badName.body.errors?.[0]?.message).toBe(wrong.body.errors?.[0]?.message);
  });

  it('refuses an over-long login password with BAD_USER_INPUT on field password, before hashing', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await server.gql(LOGIN, { u: 'alice', p: 'x'.repeat(50_000) });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.extensions?.field).toBe('password');
    }
    // Refused before the brute-force budget is charged, which comes before any
    // hashing: eight refusals later the pair (limit 5) is not locked.
    await login(server, 'alice');
  });

  it('accepts exactly 256 code points and refuses 257 at signup', async () => {
    const ok = await server.gql(SIGNUP, { u: 'longpass', p: '😀'.repeat(256) });
    expect(ok.body.errors).toBeUndefined();
    const tooLong = await server.gql(SIGNUP, { u: 'longpass2', p: '😀'.repeat(257) });
    expect(errorCode(tooLong)).toBe('BAD_USER_INPUT');
    expect(tooLong.body.errors?.[0]?.extensions?.field).toBe('password');
    await login(server, 'longpass', '😀'.repeat(256));
  });

  it('applies the username and password rules at signup with the field named', async () => {
    const cases: Array<[string, string, string]> = [
      ['ab', 'good password 1', 'username'],
      ['x'.repeat(65), 'good password 1', 'username'],
      ['Аdmin', 'good password 1', 'username'], // Cyrillic А
      ["bob'; drop table users;--", 'good password 1', 'username'],
      ['bob', 'short', 'password'],
      ['bob', 'password123', 'password'],
    ];
    for (const [u, p, field] of cases) {
      const res = await server.gql(SIGNUP, { u, p });
      expect(errorCode(res), `${u}/${p}`).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.extensions?.field).toBe(field);
    }
    const users = await server.gql(LOGIN, { u: 'bob', p: 'good password 1' });
    expect(errorCode(users)).toBe('INVALID_CREDENTIALS');
  });

  it('normalizes passwords to NFKC, so a composed and a decomposed é are one password', async () => {
    await signup(server, 'nfkc-user', 'caf\u00e9 au lait');
    await login(server, 'nfkc-user', 'cafe\u0301 au lait');
  });

  it('each login opens a new session', async () => {
    const a = await login(server, 'alice');
    const b = await login(server, 'alice');
    const res = await server.gql<{ mySessions: Array<{ id: string; current: boolean }> }>('{ mySessions { id current } }', {}, { token: a.accessToken });
    const sessions = res.body.data?.mySessions ?? [];
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const payload = (t: string) => decodeClaims(t);
    expect(payload(a.accessToken).sid).not.toBe(payload(b.accessToken).sid);
    expect(sessions.find((s) => s.current)?.id).toBe(payload(a.accessToken).sid);
  });
});

describe('signup switched off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ SIGNUP_ENABLED: 'false' });
  });
  afterAll(() => server.stop());

  it('answers FORBIDDEN and creates nobody', async () => {
    const res = await server.gql(SIGNUP, { u: 'carol', p: 'good password 1' });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await server.app.services.users.listUsers(10, null)).toMatchObject({ totalCount: 0 });
  });
});

describe('bootstrap admin and password rehash', () => {
  it('creates ADMIN_USERNAME at first start, once, and upgrades an old hash at login', async () => {
    const storage = await createStorage();
    const first = await startServer({ ADMIN_USERNAME: 'root-admin', ADMIN_PASSWORD: 'bootstrap pass 1', ARGON2_TIME_COST: '1' }, { storage });
    const pair = await login(first, 'root-admin', 'bootstrap pass 1');
    expect(pair.user.roles).toEqual(['USER', 'ADMIN']);
    const before = await first.app.db.selectFrom('credentials').select('material').where('kind', '=', 'password').executeTakeFirstOrThrow();
    expect(before.material).toContain('t=1');
    await first.app.stop();

    // Same database, stronger parameters: the next login rehashes.
    const second = await startServer({ ADMIN_USERNAME: 'root-admin', ADMIN_PASSWORD: 'bootstrap pass 1', ARGON2_TIME_COST: '2' }, { storage });
    await login(second, 'root-admin', 'bootstrap pass 1');
    const after = await second.app.db.selectFrom('credentials').select('material').where('kind', '=', 'password').execute();
    expect(after).toHaveLength(1);
    expect(after[0]!.material).toContain('t=2');
    await login(second, 'root-admin', 'bootstrap pass 1');
    await second.stop();
    await storage.dispose();
  });
});
