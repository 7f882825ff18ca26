import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuth, createAuthFetch, expiresAtOf, memoryStore, readClaims, readCookie, type Auth, type AuthOptions, type SignOutReason } from '../src/core/index.js';
import { FakeServer } from './fake-server.js';

/*
 * The framework-free core (`@tokengate/apollo-auth/core`) on its own: JWT
 * claims and cookies, `auto` mode, logOut's answer and the authenticated
 * fetch. The Apollo link over the same core is tested in apollo-auth.test.ts.
 */

const URI = 'http://tokengate.test/graphql';

const opened: Auth[] = [];
afterEach(() => {
  for (const auth of opened.splice(0)) auth.close();
});

function page(server: FakeServer, options: Partial<AuthOptions> = {}) {
  const signedOut: SignOutReason[] = [];
  const auth = createAuth({ uri: URI, fetch: server.fetch, refreshTokenStore: memoryStore(), tabs: null, onSignedOut: (r) => signedOut.push(r), ...options });
  opened.push(auth);
  const authFetch = createAuthFetch(auth, server.fetch);
  const me = async (init: RequestInit = {}) => (await authFetch(URI, { method: 'POST', body: JSON.stringify({ operationName: 'Me', query: 'query Me { me { id } }' }), ...init })).json() as Promise<{ data?: unknown; errors?: Array<{ extensions: Record<string, unknown> }> }>;
  return { auth, authFetch, me, signedOut };
}

describe('the core has no framework in it', () => {
  it('imports nothing but its own files (and @simplewebauthn/browser for passkeys), so `@tokengate/apollo-auth/core` pulls no Apollo Client, graphql or rxjs into a bundle', () => {
    const dir = new URL('../src/core/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('index.ts');
    for (const file of files) {
      const specifiers = [...readFileSync(new URL(file, dir), 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]);
      // The one package it uses: the WebAuthn browser half, in passkeys.ts only (a few KB, no framework).
      for (const specifier of specifiers) expect(specifier, file).toMatch(file === 'passkeys.ts' ? /^(\.\/[\w-]+\.js|@simplewebauthn\/browser)$/ : /^\.\/[\w-]+\.js$/);
    }
  });

  it('is the `./core` export of the package', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, { default: string; types: string }> };
    expect(manifest.exports['./core']).toEqual({ types: './dist/core/index.d.ts', default: './dist/core/index.js' });
  });
});

describe('claims and cookies', () => {
  const jwt = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it('reads a JWT’s claims without verifying it', () => {
    expect(readClaims(jwt({ exp: 2_000_000_000, iat: 1_999_999_000, sid: 's1', fresh: true }))).toEqual({ expiresAt: 2_000_000_000_000, issuedAt: 1_999_999_000_000, sessionId: 's1', fresh: true });
    expect(readClaims(jwt({ exp: 2_000_000_000 }))).toEqual({ expiresAt: 2_000_000_000_000, issuedAt: 0, sessionId: null, fresh: false });
    // Only `fresh: true` is fresh; an `exp` that is not a number is no claim set the kit can use.
    expect(readClaims(jwt({ exp: 2_000_000_000, fresh: 'yes' }))?.fresh).toBe(false);
    expect(readClaims(jwt({ exp: '2000000000' }))).toBeNull();
    expect(readClaims(jwt(null))).toBeNull();
    expect(readClaims('garbage')).toBeNull();
    expect(readClaims('a.!!!.c')).toBeNull();
    expect(expiresAtOf(jwt({ exp: 5 }))).toBe(5000);
    expect(expiresAtOf('garbage')).toBeNull();
  });

  it('reads one cookie, percent-decoded when it is encoded', () => {
    expect(readCookie('tg_csrf', 'a=1; tg_csrf=abc%3D; b=2')).toBe('abc=');
    expect(readCookie('tg_csrf', 'a=1; xtg_csrf=2')).toBeNull();
    expect(readCookie('tg_csrf', 'tg_csrf=50%')).toBe('50%');
    expect(readCookie('tg_csrf', 'tg_csrf=')).toBeNull();
    // Outside a browser there is no document.cookie to read.
    expect(readCookie('tg_csrf')).toBeNull();
  });
});

describe('auto mode (a page on the API’s origin that does not know REFRESH_TOKEN_COOKIE)', () => {
  it('keeps a refresh token the server hands out, and refreshes with it as the argument', async () => {
    const server = new FakeServer();
    const store = memoryStore();
    const { auth } = page(server, { mode: 'auto', refreshTokenStore: store, readCsrfToken: () => server.csrf });
    expect(auth.credentials).toBe('same-origin');
    expect(auth.mode).toBe('cookie');
    await auth.logIn('alice', 'pw');
    expect(auth.mode).toBe('header');
    expect(store.get()).toBe('rt-1');
    expect(await auth.refresh()).toBe(true);
    expect(server.sent.at(-1)).toMatchObject({ operationName: 'RefreshToken', csrf: null, variables: { refreshToken: 'rt-1' } });
  });

  it('uses the cookie when the server answers refreshToken "", with X-CSRF-Token and no token in JS', async () => {
    const server = new FakeServer();
    server.cookies = true;
    const store = memoryStore();
    const { auth } = page(server, { mode: 'auto', refreshTokenStore: store, readCsrfToken: () => server.csrf });
    await auth.logIn('alice', 'pw');
    expect(auth.mode).toBe('cookie');
    expect(store.get()).toBeNull();
    expect(await auth.refresh()).toBe(true);
    expect(server.sent.at(-1)).toMatchObject({ operationName: 'RefreshToken', csrf: 'csrf-value', credentials: 'same-origin', variables: {} });
  });

  it('on page load tries the cookie only when tg_csrf is there, and a refused one signs nobody out', async () => {
    const server = new FakeServer();
    server.cookies = true;
    let csrf: string | null = null;
    const { auth, signedOut } = page(server, { mode: 'auto', readCsrfToken: () => csrf });
    expect(await auth.restore()).toBe(false);
    expect(server.sent).toEqual([]);
    csrf = 'stale';
    expect(await auth.restore()).toBe(false);
    expect(server.sent.map((r) => r.operationName)).toEqual(['RefreshToken']);
    csrf = server.csrf;
    expect(await auth.restore()).toBe(true);
    expect(auth.getState().status).toBe('signedIn');
    expect(signedOut).toEqual([]);
  });

  it('after a header-mode session ends, the next page state starts from the cookie again', async () => {
    const server = new FakeServer();
    const { auth } = page(server, { mode: 'auto', readCsrfToken: () => null });
    await auth.logIn('alice', 'pw');
    expect(auth.mode).toBe('header');
    auth.signOut();
    expect(auth.mode).toBe('cookie');
  });
});

describe('logOut', () => {
  it('resolves to whether the server ended the session; the page is signed out either way', async () => {
    const server = new FakeServer();
    const { auth, signedOut } = page(server);
    expect(await auth.logOut()).toBe(false); // nobody signed in: nothing sent
    expect(server.sent).toEqual([]);
    await auth.logIn('alice', 'pw');
    expect(await auth.logOut()).toBe(true);
    await auth.logIn('alice', 'pw');
    server.revoked = true;
    expect(await auth.logOut()).toBe(false);
    expect(auth.getState().status).toBe('signedOut');
    expect(signedOut).toEqual(['logout', 'logout']);
  });
});

describe('createAuthFetch', () => {
  it('adds the bearer header, and leaves a request that has its own Authorization alone', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = page(server);
    expect((await me()).errors?.[0]?.extensions.reason).toBe('MISSING_TOKEN');
    await auth.logIn('alice', 'pw');
    expect((await me()).data).toEqual({ me: expect.objectContaining({ username: 'alice' }) });
    expect(server.sent.at(-1)!.authorization).toBe(`Bearer ${server.accessToken}`);
    // Someone else's token, typed by hand: sent as it is, and its INVALID_TOKEN is not ours to act on.
    expect((await me({ headers: { Authorization: 'Bearer typed-by-hand' } })).errors?.[0]?.extensions.reason).toBe('INVALID_TOKEN');
    expect(server.sent.at(-1)!.authorization).toBe('Bearer typed-by-hand');
    expect(auth.getState().status).toBe('signedIn');
    expect(signedOut).toEqual([]);
  });

  it('refreshes once for 10 parallel requests after expiry, and retries each with the new token', async () => {
    const server = new FakeServer();
    const { auth, me } = page(server);
    await auth.logIn('alice', 'pw');
    const expired = server.accessToken;
    server.expire();
    const answers = await Promise.all(Array.from({ length: 10 }, () => me()));
    for (const answer of answers) expect(answer.data).toEqual({ me: expect.objectContaining({ username: 'alice' }) });
    expect(server.count('RefreshToken')).toBe(1);
    const mes = server.sent.filter((r) => r.operationName === 'Me');
    expect(mes.filter((r) => r.authorization === `Bearer ${expired}`)).toHaveLength(10);
    expect(mes.filter((r) => r.authorization === `Bearer ${server.accessToken}`)).toHaveLength(10);
  });

  it('never loops: a retry refused again is handed back, after one refresh', async () => {
    const server = new FakeServer();
    const { auth, me } = page(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    server.bornExpired = true;
    expect((await me()).errors?.[0]?.extensions.reason).toBe('TOKEN_EXPIRED');
    expect(server.count('RefreshToken')).toBe(1);
    expect(server.count('Me')).toBe(2);
  });

  it('INVALID_REFRESH_TOKEN on the refresh signs out and hands back the first answer', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = page(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    server.refreshRefusal = 'INVALID_REFRESH_TOKEN';
    expect((await me()).errors?.[0]?.extensions.reason).toBe('TOKEN_EXPIRED');
    expect(signedOut).toEqual(['INVALID_REFRESH_TOKEN']);
    expect(server.count('Me')).toBe(1);
  });

  it('TOKEN_REVOKED for the token in use signs out, without a refresh', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = page(server);
    await auth.logIn('alice', 'pw');
    server.revoked = true;
    expect((await me()).errors?.[0]?.extensions.reason).toBe('TOKEN_REVOKED');
    expect(signedOut).toEqual(['TOKEN_REVOKED']);
    expect(server.count('RefreshToken')).toBe(0);
    expect(auth.getAccessToken()).toBeNull();
  });

  it('retries a Request object with its body and headers intact', async () => {
    const server = new FakeServer();
    const { auth, authFetch } = page(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    const request = new Request(URI, { method: 'POST', headers: { 'x-trace': 't1' }, body: JSON.stringify({ operationName: 'Me', query: 'query Me { me { id } }' }) });
    const answer = (await (await authFetch(request)).json()) as { data?: unknown };
    expect(answer.data).toEqual({ me: expect.objectContaining({ username: 'alice' }) });
    expect(server.count('Me')).toBe(2);
  });

  it('waits for a restore in progress, so the first request after a reload carries the token', async () => {
    const server = new FakeServer();
    const store = memoryStore();
    store.set(server.refreshToken);
    const { auth, me } = page(server, { refreshTokenStore: store });
    const restoring = auth.restore();
    const answer = await me();
    await restoring;
    expect(answer.data).toEqual({ me: expect.objectContaining({ username: 'alice' }) });
    expect(server.sent.map((r) => r.operationName)).toEqual(['RefreshToken', 'Me']);
  });
});
