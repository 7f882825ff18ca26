import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema.js';
import { loadConfig } from '../../src/config/config.js';
import { prefersHtml } from '../../src/http/explorer.js';
import { annotateIntrospection, describeRequirement, fieldRequirements } from '../../src/explorer/requirements.js';
import { AuthSession } from '../../src/explorer/session.js';
import { createAuthFetch } from '@tokengate/apollo-auth/core';
import { getIntrospectionQuery, graphqlSync } from 'graphql';

/*
 * The explorer's pure parts: the EXPLORER setting, content negotiation, the
 * requirement badges, and the sign-in panel's state over the auth kit's core
 * against a scripted fetch (the core's own rules are tested in
 * packages/apollo-auth/test; the real server and browser in the *.browser.test.ts files).
 */

describe('EXPLORER', () => {
  const STRONG = 'k7Qp2vXz9LmN4rTb8WcY1dHs6FgJ0aEu3iOy5nPqRtSvBxZj';
  it('defaults to graphiql outside production and off in production', () => {
    expect(loadConfig({}).explorer.mode).toBe('graphiql');
    expect(loadConfig({ NODE_ENV: 'test' }).explorer.mode).toBe('graphiql');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG }).explorer.mode).toBe('off');
  });
  it('takes graphiql, sandbox or off, in production too', () => {
    for (const mode of ['graphiql', 'sandbox', 'off'] as const) {
      expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG, EXPLORER: mode }).explorer.mode).toBe(mode);
    }
  });
  it('refuses anything else, naming the setting', () => {
    expect(() => loadConfig({ EXPLORER: 'playground' })).toThrow(/EXPLORER must be graphiql, sandbox or off/);
  });
});

describe('prefersHtml', () => {
  it('picks HTML for browsers and GraphQL for API clients', () => {
    expect(prefersHtml('GET', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    expect(prefersHtml('GET', 'text/html')).toBe(true);
    expect(prefersHtml('HEAD', 'text/html')).toBe(true);
    expect(prefersHtml('GET', 'application/json, text/plain, */*')).toBe(false);
    expect(prefersHtml('GET', '*/*')).toBe(false);
    expect(prefersHtml('GET', 'application/json, text/html')).toBe(false);
    expect(prefersHtml('GET', 'text/html;q=0.9, application/json')).toBe(false);
    expect(prefersHtml('GET', 'text/*')).toBe(true);
    expect(prefersHtml('GET', 'text/html;q=0')).toBe(false);
    expect(prefersHtml('GET', undefined)).toBe(false);
    expect(prefersHtml('POST', 'text/html')).toBe(false);
  });
});

describe('field requirements', () => {
  const schema = buildSchema();
  it('cover every root field of the schema, and only those', () => {
    for (const root of ['Query', 'Mutation', 'Subscription'] as const) {
      const type = root === 'Query' ? schema.getQueryType() : root === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      const fields = Object.keys(type?.getFields() ?? {}).sort();
      expect(Object.keys(fieldRequirements[root] ?? {}).sort(), root).toEqual(fields);
    }
  });
  it('read as short phrases', () => {
    expect(describeRequirement({})).toBe('public: no sign-in needed');
    expect(describeRequirement({ signupOpen: true })).toBe('public, while sign-ups are open (SIGNUP_ENABLED)');
    expect(describeRequirement({ signedIn: true })).toBe('signed in');
    expect(describeRequirement({ signedIn: true, role: 'ADMIN' })).toBe('signed in · role ADMIN');
    expect(describeRequirement({ signedIn: true, fresh: true })).toBe('signed in · fresh token (straight from a password login)');
    expect(describeRequirement(undefined)).toBeNull();
    expect(describeRequirement({ signedIn: true, apiKey: 'PROFILE' })).toBe('signed in · API key scope PROFILE');
    expect(describeRequirement(fieldRequirements.Query?.users)).toBe('signed in · role ADMIN · API key scope ADMIN_READ');
    expect(describeRequirement(fieldRequirements.Mutation?.logout)).toBe('signed in');
  });
  it('are added to the root fields’ descriptions in a real introspection answer', () => {
    const result = graphqlSync({ schema, source: getIntrospectionQuery() });
    const annotated = annotateIntrospection(JSON.parse(JSON.stringify(result)) as typeof result);
    const types = (annotated.data as { __schema: { types: Array<{ name: string; fields: Array<{ name: string; description: string | null }> | null }> } }).__schema.types;
    const field = (type: string, name: string) => types.find((t) => t.name === type)!.fields!.find((f) => f.name === name)!;
    expect(field('Mutation', 'changePassword').description).toMatch(/^\*\*Requires:\*\* signed in · fresh token/);
    expect(field('Query', 'users').description).toMatch(/^\*\*Requires:\*\* signed in · role ADMIN/);
    expect(field('Query', 'me').description).toMatch(/^\*\*Requires:\*\* signed in/);
    // Non-root types are left alone.
    expect(types.find((t) => t.name === 'User')!.fields!.find((f) => f.name === 'username')!.description ?? '').not.toContain('Requires');
    // Anything that is not an introspection answer passes through.
    expect(annotateIntrospection({ data: { me: null } })).toEqual({ data: { me: null } });
  });
});

/** An unsigned JWT-shaped token with the given claims (the store reads claims, the server verifies). */
function token(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'at+jwt' })}.${part(claims)}.sig`;
}

const USER = { id: 'u1', username: 'alice', roles: ['USER'] };
const soon = () => Math.floor(Date.now() / 1000) + 60;

type Handler = (body: { operationName: string | null; query: string; variables: Record<string, unknown> }, headers: Headers) => unknown;

/** A fetch that answers GraphQL operations by name and records them. */
function scriptedFetch(handler: Handler): { fetch: typeof fetch; calls: Array<{ operationName: string | null; headers: Headers; variables: Record<string, unknown> }> } {
  const calls: Array<{ operationName: string | null; headers: Headers; variables: Record<string, unknown> }> = [];
  const fake = (async (_input: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { operationName: string | null; query: string; variables: Record<string, unknown> };
    const headers = new Headers(init?.headers);
    calls.push({ operationName: body.operationName ?? null, headers, variables: body.variables });
    // Let parallel callers interleave, as real network answers do.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return new Response(JSON.stringify(handler(body, headers)), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fetch: fake, calls };
}

function payload(accessToken: string, refreshToken = 'r1') {
  return { accessToken, refreshToken, expiresIn: 60, user: USER };
}

describe('AuthSession', () => {
  it('shows the claims of the token it signed in with', async () => {
    const { fetch } = scriptedFetch(() => ({ data: { login: payload(token({ exp: 2_000_000_000, iat: 1_999_999_000, sid: 's1', fresh: true })) } }));
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    expect(session.getState()).toEqual({
      status: 'signed-in',
      busy: false,
      notice: null,
      user: USER,
      claims: { expiresAt: 2_000_000_000_000, issuedAt: 1_999_999_000_000, sessionId: 's1', fresh: true },
      refreshMode: 'memory',
      refreshes: 0,
    });
  });

  it('refuses an access token it cannot read, rather than keep sending it', async () => {
    const { fetch } = scriptedFetch(() => ({ data: { login: payload('not-a-jwt') } }));
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    expect(session.getState()).toMatchObject({ status: 'signed-out', notice: { kind: 'error' } });
    expect(session.auth.getAccessToken()).toBeNull();
  });

  it('refreshes once for all requests in flight that met TOKEN_EXPIRED, and retries each with the new token', async () => {
    const old = token({ exp: soon(), sid: 's1' });
    const renewed = token({ exp: soon() + 1, sid: 's1' });
    const { fetch, calls } = scriptedFetch((body, headers) => {
      if (body.operationName === 'Login') return { data: { login: payload(old) } };
      if (body.operationName === 'RefreshToken') return { data: { refreshToken: payload(renewed, 'r2') } };
      if (headers.get('authorization') === `Bearer ${old}`) return { data: null, errors: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' } }] };
      return { data: { me: { username: 'alice' } } };
    });
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    const authFetch = createAuthFetch(session.auth, fetch);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => authFetch('/graphql', { method: 'POST', body: JSON.stringify({ operationName: 'Me', query: '{ me { username } }', variables: {} }) }).then((r) => r.json())),
    );
    expect(answers).toEqual(Array.from({ length: 10 }, () => ({ data: { me: { username: 'alice' } } })));
    const refreshes = calls.filter((c) => c.operationName === 'RefreshToken');
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.variables).toEqual({ refreshToken: 'r1' });
    expect(session.auth.getAccessToken()).toBe(renewed);
    const state = session.getState();
    expect(state.status === 'signed-in' && state.refreshes).toBe(1);
  });

  it('is signed out when the refresh is refused, and returns the original error', async () => {
    const old = token({ exp: soon() });
    const { fetch, calls } = scriptedFetch((body) => {
      if (body.operationName === 'Login') return { data: { login: payload(old) } };
      if (body.operationName === 'RefreshToken') return { data: null, errors: [{ message: 'used', extensions: { code: 'INVALID_REFRESH_TOKEN' } }] };
      return { data: null, errors: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' } }] };
    });
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    const body = (await (await createAuthFetch(session.auth, fetch)('/graphql', { method: 'POST', body: JSON.stringify({ query: '{ me { id } }' }) })).json()) as { errors: Array<{ extensions: { reason: string } }> };
    expect(body.errors[0]!.extensions.reason).toBe('TOKEN_EXPIRED');
    expect(session.getState().status).toBe('signed-out');
    expect(session.getState().notice?.text).toContain('INVALID_REFRESH_TOKEN');
    expect(calls.filter((c) => c.operationName === 'RefreshToken')).toHaveLength(1);
  });

  it('signs out on TOKEN_REVOKED, and leaves a typed Authorization header alone', async () => {
    const mine = token({ exp: soon() });
    const { fetch, calls } = scriptedFetch((body, headers) => {
      if (body.operationName === 'Login') return { data: { login: payload(mine) } };
      if (headers.get('authorization') === 'Bearer typed-by-hand') return { data: { me: { username: 'carol' } } };
      return { data: null, errors: [{ message: 'revoked', extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' } }] };
    });
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    const authFetch = createAuthFetch(session.auth, fetch);
    await authFetch('/graphql', { method: 'POST', headers: { authorization: 'Bearer typed-by-hand' }, body: JSON.stringify({ query: '{ me { id } }' }) });
    expect(calls.at(-1)!.headers.get('authorization')).toBe('Bearer typed-by-hand');
    expect(session.getState().status).toBe('signed-in');
    await authFetch('/graphql', { method: 'POST', body: JSON.stringify({ query: '{ me { id } }' }) });
    expect(session.getState().status).toBe('signed-out');
    expect(session.getState().notice?.text).toContain('TOKEN_REVOKED');
  });

  it('stays signed in when a refresh fails for another reason (RATE_LIMITED), and says so on sign-out', async () => {
    const old = token({ exp: soon() });
    const { fetch, calls } = scriptedFetch((body, headers) => {
      if (body.operationName === 'Login') return { data: { login: payload(old) } };
      if (body.operationName === 'RefreshToken') return { data: null, errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfter: 9 } }] };
      if (body.operationName === 'Logout') return headers.get('authorization') === `Bearer ${old}` ? { data: { logout: true } } : { data: null };
      return { data: null, errors: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' } }] };
    });
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    await createAuthFetch(session.auth, fetch)('/graphql', { method: 'POST', body: JSON.stringify({ query: '{ me { id } }' }) });
    // The contract: only TOKEN_REVOKED, INVALID_TOKEN and INVALID_REFRESH_TOKEN mean signed out; the next request may refresh again.
    expect(session.getState()).toMatchObject({ status: 'signed-in', refreshes: 0 });
    expect(calls.filter((c) => c.operationName === 'RefreshToken')).toHaveLength(1);
    await session.signOut();
    expect(session.getState()).toEqual({ status: 'signed-out', busy: false, notice: { kind: 'info', text: 'Signed out: this session has ended.' } });
  });

  it('shows the contract code of a refused login, with the wait of RATE_LIMITED', async () => {
    const { fetch } = scriptedFetch(() => ({ data: null, errors: [{ message: 'Too many attempts.', extensions: { code: 'RATE_LIMITED', retryAfter: 30 } }] }));
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    expect(session.getState()).toEqual({ status: 'signed-out', busy: false, notice: { kind: 'error', text: 'Too many attempts (RATE_LIMITED). Try again in 30 s.' } });
  });

  it('asks for the TOTP code when login answers MFA_REQUIRED, then signs in with verifyMfa', async () => {
    const signed = token({ exp: soon(), fresh: true });
    const { fetch, calls } = scriptedFetch((body) => {
      if (body.operationName === 'Login') return { data: null, errors: [{ message: 'code needed', extensions: { code: 'MFA_REQUIRED', mfaToken: 'mfa-1' } }] };
      if (body.operationName === 'VerifyMfa' && body.variables.code === '123456') return { data: { verifyMfa: payload(signed) } };
      return { data: null, errors: [{ message: 'That code is not right.', extensions: { code: 'INVALID_MFA_CODE' } }] };
    });
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => '' });
    await session.login('alice', 'pw');
    expect(session.getState()).toMatchObject({ status: 'mfa', username: 'alice' });
    await session.verifyMfa('000000');
    expect(session.getState()).toMatchObject({ status: 'mfa', notice: { kind: 'error' } });
    await session.verifyMfa(' 123456 ');
    expect(session.getState().status).toBe('signed-in');
    expect(calls.filter((c) => c.operationName === 'VerifyMfa').map((c) => c.variables)).toEqual([
      { mfaToken: 'mfa-1', code: '000000' },
      { mfaToken: 'mfa-1', code: '123456' },
    ]);
  });

  it('cookie mode: restores on load with X-CSRF-Token from tg_csrf, and refreshes without a token in JS', async () => {
    const first = token({ exp: soon(), sid: 's9' });
    const second = token({ exp: soon() + 5, sid: 's9' });
    let n = 0;
    const { fetch, calls } = scriptedFetch((body, headers) => {
      if (body.operationName !== 'RefreshToken') return { data: null };
      if (headers.get('x-csrf-token') !== 'csrf-1') return { data: null, errors: [{ message: 'csrf', extensions: { code: 'FORBIDDEN', reason: 'CSRF' } }] };
      n += 1;
      return { data: { refreshToken: { ...payload(n === 1 ? first : second), refreshToken: '' } } };
    });
    let cookies = '';
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => cookies });
    await session.restoreFromCookie();
    expect(calls).toHaveLength(0); // no tg_csrf cookie: nothing to restore, nothing sent
    cookies = 'tg_csrf=csrf-1';
    await session.restoreFromCookie();
    expect(session.getState()).toMatchObject({ status: 'signed-in', refreshMode: 'cookie', refreshes: 0, notice: { text: 'Session restored from the HttpOnly cookie.' } });
    expect(await session.auth.refresh()).toBe(true);
    expect(session.auth.getAccessToken()).toBe(second);
    expect(session.getState()).toMatchObject({ status: 'signed-in', refreshes: 1 });
    expect(calls.map((c) => c.variables)).toEqual([{}, {}]);
  });

  it('stays signed out when a server without cookie sessions refuses the restore', async () => {
    const { fetch } = scriptedFetch(() => ({ errors: [{ message: 'Field "refreshToken" argument "refreshToken" of type "String!" is required', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }));
    const session = new AuthSession({ endpoint: '/graphql', fetch, cookies: () => 'tg_csrf=x' });
    await session.restoreFromCookie();
    expect(session.getState()).toEqual({ status: 'signed-out', busy: false, notice: null });
  });
});
