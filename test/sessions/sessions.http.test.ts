import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { decodeClaims } from '../helpers/jwt.js';

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const CHANGE = `mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { ${AUTH_FIELDS} } }`;

function sidOf(accessToken: string): string {
  return decodeClaims(accessToken).sid;
}

describe('sessions: logout, logoutAll, revokeSession, mySessions', () => {
  let server: TestServer;
  const me = (token: string) => server.gql<{ me: { username: string } }>('{ me { username } }', {}, { token });
  const reason = async (token: string) => (await me(token)).body.errors?.[0]?.extensions?.reason;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('logout ends the current session on the very next request, refresh token included', async () => {
    const pair = await signup(server, 'gina');
    const other = await login(server, 'gina');
    const res = await server.gql<{ logout: boolean }>('mutation { logout }', {}, { token: pair.accessToken });
    expect(res.body.data?.logout).toBe(true);
    expect(await reason(pair.accessToken)).toBe('TOKEN_REVOKED');
    expect(errorCode(await server.gql(REFRESH, { t: pair.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
    // The other session lives on.
    expect((await me(other.accessToken)).body.data?.me.username).toBe('gina');
    // Logging out again is refused as signed out, and writes nothing.
    const again = await server.gql('mutation { logout }', {}, { token: pair.accessToken });
    expect(again.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
  });

  it('logoutAll ends every session of the caller, counting the current one', async () => {
    const a = await signup(server, 'hank');
    const b = await login(server, 'hank');
    const c = await login(server, 'hank');
    const bystander = await signup(server, 'ivy');
    const res = await server.gql<{ logoutAll: number }>('mutation { logoutAll }', {}, { token: b.accessToken });
    expect(res.body.data?.logoutAll).toBe(3);
    for (const pair of [a, b, c]) expect(await reason(pair.accessToken)).toBe('TOKEN_REVOKED');
    expect((await me(bystander.accessToken)).body.data?.me.username).toBe('ivy');
  });

  it('revokeSession ends one own session; unknown, ended and foreign ids all answer false', async () => {
    const mine = await signup(server, 'jack');
    const second = await login(server, 'jack');
    const foreign = await signup(server, 'kate');
    const revoke = (id: string) => server.gql<{ revokeSession: boolean }>('mutation ($id: ID!) { revokeSession(id: $id) }', { id }, { token: mine.accessToken });

    expect((await revoke(sidOf(foreign.accessToken))).body.data?.revokeSession).toBe(false);
    expect((await me(foreign.accessToken)).body.data?.me.username).toBe('kate');
    expect((await revoke('00000000-0000-0000-0000-000000000000')).body.data?.revokeSession).toBe(false);
    expect((await revoke('not even a uuid')).body.data?.revokeSession).toBe(false);

    expect((await revoke(sidOf(second.accessToken))).body.data?.revokeSession).toBe(true);
    expect(await reason(second.accessToken)).toBe('TOKEN_REVOKED');
    expect((await revoke(sidOf(second.accessToken))).body.data?.revokeSession).toBe(false);

    const list = await server.gql<{ mySessions: Array<{ id: string; current: boolean; userAgent: string | null }> }>(
      '{ mySessions { id current userAgent } }',
      {},
      { token: mine.accessToken, headers: { 'user-agent': 'tokengate-tests/1.0' } },
    );
    expect(list.body.data?.mySessions.map((s) => s.id)).toEqual([sidOf(mine.accessToken)]);
    expect(list.body.data?.mySessions[0]?.current).toBe(true);
  });

  it('mySessions lists open sessions newest first, with their user agent', async () => {
    const first = await signup(server, 'liam');
    await new Promise((r) => setTimeout(r, 5));
    const res = await server.gql<{ login: AuthPayload }>(
      `mutation { login(username: "liam", password: "correct horse battery") { ${AUTH_FIELDS} } }`,
      {},
      { headers: { 'user-agent': 'Browser B' } },
    );
    const second = res.body.data!.login;
    const list = await server.gql<{ mySessions: Array<{ id: string; current: boolean; userAgent: string | null }> }>(
      '{ mySessions { id current userAgent } }',
      {},
      { token: first.accessToken },
    );
    expect(list.body.data?.mySessions).toEqual([
      { id: sidOf(second.accessToken), current: false, userAgent: 'Browser B' },
      { id: sidOf(first.accessToken), current: true, userAgent: 'node' },
    ]);
  });
});

describe('changePassword', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('needs a fresh token: a refreshed one gets FRESH_TOKEN_REQUIRED and nothing changes', async () => {
    const pair = await signup(server, 'mia');
    const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: pair.refreshToken })).body.data!.refreshToken;
    const res = await server.gql(CHANGE, { c: 'correct horse battery', n: 'a brand new secret' }, { token: refreshed.accessToken });
    expect(errorCode(res)).toBe('FRESH_TOKEN_REQUIRED');
    await login(server, 'mia', 'correct horse battery');
  });

  it('refuses a wrong current password with INVALID_CREDENTIALS and a weak new one with BAD_USER_INPUT', async () => {
    const pair = await signup(server, 'noah');
    expect(errorCode(await server.gql(CHANGE, { c: 'wrong password!', n: 'a brand new secret' }, { token: pair.accessToken }))).toBe('INVALID_CREDENTIALS');
    const weak = await server.gql(CHANGE, { c: 'correct horse battery', n: 'short' }, { token: pair.accessToken });
    expect(errorCode(weak)).toBe('BAD_USER_INPUT');
    expect(weak.body.errors?.[0]?.extensions?.field).toBe('newPassword');
    await login(server, 'noah', 'correct horse battery');
  });

  it('changes the password, ends the other sessions, keeps the caller signed in with a new fresh pair', async () => {
    const caller = await signup(server, 'olga');
    const other = await login(server, 'olga');
    const res = await server.gql<{ changePassword: AuthPayload }>(CHANGE, { c: 'correct horse battery', n: 'a brand new secret' }, { token: caller.accessToken });
    expect(res.body.errors).toBeUndefined();
    const next = res.body.data!.changePassword;
    expect(sidOf(next.accessToken)).toBe(sidOf(caller.accessToken));
    expect(decodeClaims(next.accessToken).fresh).toBe(true);

    const otherMe = await server.gql('{ me { id } }', {}, { token: other.accessToken });
    expect(otherMe.body.errors?.[0]?.extensions?.reason).toBe('TOKEN_REVOKED');
    expect(errorCode(await server.gql(REFRESH, { t: other.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
    // The caller's old refresh token is gone, its new one works, and so does its access token.
    expect(errorCode(await server.gql(REFRESH, { t: caller.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
    expect((await server.gql('{ me { username } }', {}, { token: caller.accessToken })).body.data).toEqual({ me: { username: 'olga' } });
    expect((await server.gql(REFRESH, { t: next.refreshToken })).body.errors).toBeUndefined();

    const oldLogin = await server.gql(`mutation { login(username: "olga", password: "correct horse battery") { accessToken } }`);
    expect(errorCode(oldLogin)).toBe('INVALID_CREDENTIALS');
    await login(server, 'olga', 'a brand new secret');
  });
});
