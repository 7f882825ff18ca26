import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

/*
 * The contract's brute-force limits. Every test server here has its own
 * counters; limits are lowered only where waiting out the defaults would be
 * pointless, and the login-pair tests run on the defaults.
 */
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }`;
const PASSWORD = 'correct horse battery';

function aliasedLogins(count: number, username: string, password: string): string {
  const fields = Array.from({ length: count }, (_, i) => `l${i}: login(username: "${username}", password: "${password}") { accessToken }`);
  return `mutation { ${fields.join(' ')} }`;
}

describe('login brute force, on the default limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
    await signup(server, 'locked-out');
    await signup(server, 'neighbour');
  });
  afterAll(() => server.stop());

  it('locks a username+address pair after 5 failures; then even the right password is RATE_LIMITED', async () => {
    for (let i = 0; i < 5; i++) expect(errorCode(await server.gql(LOGIN, { u: 'locked-out', p: 'wrong password!' }))).toBe('INVALID_CREDENTIALS');
    const locked = await server.gql(LOGIN, { u: 'locked-out', p: PASSWORD });
    expect(locked.status).toBe(200);
    expect(locked.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = locked.body.errors?.[0]?.extensions?.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Same case-insensitive user, same pair.
    expect(errorCode(await server.gql(LOGIN, { u: 'LOCKED-OUT', p: PASSWORD }))).toBe('RATE_LIMITED');
    // Another user from the same address is not locked.
    await login(server, 'neighbour');
  });

  it('limits guesses of the current password in changePassword like logins', async () => {
    const pair = await signup(server, 'guessed');
    const change = (current: string) =>
      server.gql('mutation ($c: String!) { changePassword(currentPassword: $c, newPassword: "a new strong secret") { accessToken } }', { c: current }, { token: pair.accessToken });
    for (let i = 0; i < 5; i++) expect(errorCode(await change(`guess number ${i}`))).toBe('INVALID_CREDENTIALS');
    expect(errorCode(await change(PASSWORD))).toBe('RATE_LIMITED');
    expect(errorCode(await server.gql(LOGIN, { u: 'guessed', p: PASSWORD }))).toBe('RATE_LIMITED');
  });

  it('answers an unknown username exactly like an existing one: no enumeration through the lock', async () => {
    const answers: unknown[] = [];
    for (let i = 0; i < 6; i++) answers.push(errorCode(await server.gql(LOGIN, { u: 'no-such-user', p: 'wrong password!' })));
    expect(answers).toEqual(['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'RATE_LIMITED']);
    const known = await server.gql(LOGIN, { u: 'locked-out', p: 'wrong password!' });
    const unknown = await server.gql(LOGIN, { u: 'no-such-user', p: 'wrong password!' });
    // The same words; only the seconds left may differ (the two locks started moments apart).
    const words = (res: typeof known) => res.body.errors?.[0]?.message.replace(/\d+/g, 'N');
    expect(words(known)).toBe(words(unknown));
    expect(known.body.errors?.[0]?.extensions?.code).toBe(unknown.body.errors?.[0]?.extensions?.code);
  });

  it('a successful login clears the pair’s count', async () => {
    await signup(server, 'forgetful');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect(errorCode(await server.gql(LOGIN, { u: 'forgetful', p: 'wrong password!' }))).toBe('INVALID_CREDENTIALS');
      await login(server, 'forgetful');
    }
  });

  it('counts every aliased login field; the first failure ends the operation (login is non-null)', async () => {
    await signup(server, 'aliased');
    // Three successful aliased logins: each one ran (three new sessions).
    const ok = await server.gql<Record<string, { accessToken: string }>>(aliasedLogins(3, 'aliased', PASSWORD));
    expect(Object.keys(ok.body.data ?? {})).toHaveLength(3);
    // Wrong passwords: the first failure nulls the whole result, so each document spends one attempt.
    for (let i = 0; i < 5; i++) {
      const res = await server.gql(aliasedLogins(10, 'aliased', 'wrong password!'));
      expect(res.body.data).toBeNull();
      expect((res.body.errors ?? []).map((e) => e.extensions?.code)).toEqual(['INVALID_CREDENTIALS']);
    }
    // Locked now: aliases with the right password are refused, before any hashing.
    const locked = await server.gql(aliasedLogins(10, 'aliased', PASSWORD));
    expect((locked.body.errors ?? []).map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
  });

  it('refuses a batch of operations (HTTP batching is off)', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 10 }, () => ({ query: LOGIN, variables: { u: 'neighbour', p: 'wrong password!' } }))),
    });
    expect(res.status).toBe(400);
    await login(server, 'neighbour'); // nothing ran, nothing was charged
  });

  it('refuses 50 aliased logins in one document before running any', async () => {
    await signup(server, 'fifty');
    const res = await server.gql(aliasedLogins(50, 'fifty', 'wrong password!'));
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    await login(server, 'fifty'); // nothing was charged
  });

  it('counts parallel requests: 20 at once, at most 5 reach the password check', async () => {
    await signup(server, 'parallel');
    const results = await Promise.all(Array.from({ length: 20 }, () => server.gql(LOGIN, { u: 'parallel', p: 'wrong password!' })));
    const codes = results.map(errorCode);
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS')).toHaveLength(5);
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(15);
  });
});

describe('per-username, per-address, signup and refresh budgets', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      RATE_LIMIT_LOGIN_USERNAME: '8/1h',
      RATE_LIMIT_LOGIN_ADDRESS: '12/1h',
      RATE_LIMIT_SIGNUP_ADDRESS: '6/10m',
      RATE_LIMIT_REFRESH_ADDRESS: '4/1m',
    });
  });
  afterAll(() => server.stop());

  it('limits signups per address, counting refused attempts too', async () => {
    const codes = [];
    for (let i = 0; i < 7; i++) codes.push(errorCode(await server.gql(`mutation { signup(username: "s${i}-user", password: "${i < 3 ? 'short' : PASSWORD}") { accessToken } }`)));
    expect(codes).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', undefined, undefined, undefined, 'RATE_LIMITED']);
  });

  it('limits refreshes per address without using up the refused refresh token', async () => {
    const stored = await server.app.services.signIn.login('s3-user', PASSWORD, { userAgent: null, clientAddress: '10.9.9.9', requestId: 'test' });
    let token = stored.refreshToken;
    const refresh = (t: string) => server.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t });
    for (let i = 0; i < 4; i++) {
      const res = await refresh(token);
      expect(res.body.errors).toBeUndefined();
      token = res.body.data!.refreshToken.refreshToken;
    }
    const refused = await refresh(token);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // From another address the same token still works: it was not used up.
    const elsewhere = await server.app.services.tokens.refresh(token, { userAgent: null, clientAddress: '10.8.8.8', requestId: 'test' });
    expect(elsewhere.refreshToken).not.toBe(token);
  });

  it('limits failures per username across addresses and per address across usernames', async () => {
    const meta = (clientAddress: string) => ({ userAgent: null, clientAddress, requestId: 'test' });
    const attempt = (username: string, address: string, password = 'wrong password!') =>
      server.app.services.signIn.login(username, password, meta(address)).then(
        () => 'OK',
        (error: { code?: string }) => error.code,
      );
    // 8 failures for s4-user from 8 addresses (each pair below its own 5): then the username is limited everywhere.
    for (let i = 0; i < 8; i++) expect(await attempt('s4-user', `10.0.0.${i}`)).toBe('INVALID_CREDENTIALS');
    expect(await attempt('s4-user', '10.0.0.99', PASSWORD)).toBe('RATE_LIMITED');
    // 12 failures from one address over many usernames: then that address is limited for everyone.
    for (let i = 0; i < 12; i++) expect(await attempt(`nobody-${i}`, '10.1.1.1')).toBe('INVALID_CREDENTIALS');
    expect(await attempt('s5-user', '10.1.1.1', PASSWORD)).toBe('RATE_LIMITED');
    expect(await attempt('s5-user', '10.1.1.2', PASSWORD)).toBe('OK');
  });
});

describe('client address behind a proxy', () => {
  it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
    for (const trust of [false, true]) {
      const server = await startServer({ TRUST_PROXY: String(trust) });
      try {
        await signup(server, 'proxied');
        // Five failures, each claiming a different client address.
        for (let i = 0; i < 5; i++) {
          await server.gql(LOGIN, { u: 'proxied', p: 'wrong password!' }, { headers: { 'x-forwarded-for': `203.0.113.${i}` } });
        }
        const next = await server.gql(LOGIN, { u: 'proxied', p: PASSWORD }, { headers: { 'x-forwarded-for': '203.0.113.200' } });
        // Untrusted: all five came from the socket's address, so the pair is locked.
        // Trusted: five different pairs, none locked.
        expect(errorCode(next)).toBe(trust ? undefined : 'RATE_LIMITED');
      } finally {
        await server.stop();
      }
    }
  });
});
