/**
 * Cookie transport for browsers (docs/api.md): every rule over real HTTP,
 * on SQLite and on PostgreSQL + Redis.
 */
import { parseSetCookie, type SetCookie } from 'cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config/config.js';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, errorCode, startServer, testEnv, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';

const ORIGIN = 'http://app.example.test';
const REFRESH_TTL_SECONDS = 3_600;
const PASSWORD = 'correct horse battery';

const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REFRESH_FROM_COOKIE = `mutation { refreshToken { ${AUTH_FIELDS} } }`;
const REFRESH_WITH_ARGUMENT = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;

/** The Set-Cookie headers of an answer, by cookie name. */
function setCookies(res: GqlResponse): Record<string, SetCookie> {
  return Object.fromEntries(res.headers.getSetCookie().map((header) => {
    const parsed = parseSetCookie(header);
    return [parsed.name, parsed];
  }));
}

/** The raw Set-Cookie header of one cookie, to check attributes as written. */
function rawSetCookie(res: GqlResponse, name: string): string {
  const header = res.headers.getSetCookie().find((h) => h.startsWith(`${name}=`));
  if (!header) throw new Error(`no Set-Cookie for ${name}: ${JSON.stringify(res.headers.getSetCookie())}`);
  return header;
}

/** A browser's cookies for the API, as the test keeps them between calls. */
interface Jar {
  refresh?: string;
  csrf?: string;
}

function remember(jar: Jar, res: GqlResponse): Jar {
  const cookies = setCookies(res);
  if (cookies.tg_refresh) jar.refresh = cookies.tg_refresh.value;
  if (cookies.tg_csrf) jar.csrf = cookies.tg_csrf.value;
  return jar;
}

function cookieHeader(jar: Jar): string {
  return [jar.refresh ? `tg_refresh=${jar.refresh}` : null, jar.csrf ? `tg_csrf=${jar.csrf}` : null].filter(Boolean).join('; ');
}

describe('cookie transport (REFRESH_TOKEN_COOKIE=true)', () => {
  const clock = new ManualClock();
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(
      { REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: ORIGIN, REFRESH_TOKEN_TTL: '1h', REFRESH_REUSE_GRACE: '10s' },
      { deps: { clock } },
    );
  });
  afterAll(() => server.stop());

  async function signupWithCookies(username: string): Promise<{ res: GqlResponse<{ signup: AuthPayload }>; jar: Jar }> {
    const res = await server.gql<{ signup: AuthPayload }>(SIGNUP, { u: username, p: PASSWORD });
    expect(res.body.errors).toBeUndefined();
    return { res, jar: remember({}, res) };
  }

  function refreshFromCookie(jar: Jar, csrfHeader: string | null = jar.csrf ?? null, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { cookie: cookieHeader(jar), ...extra };
    if (csrfHeader !== null) headers['x-csrf-token'] = csrfHeader;
    return server.gql<{ refreshToken: AuthPayload }>(REFRESH_FROM_COOKIE, {}, { headers });
  }

  it('signup sets tg_refresh (HttpOnly, SameSite=Strict, Path=/graphql, Secure) and a readable tg_csrf, and answers refreshToken ""', async () => {
    const { res } = await signupWithCookies('cookie_signup');
    expect(res.body.data!.signup.refreshToken).toBe('');
    expect(res.body.data!.signup.accessToken).not.toBe('');
    const cookies = setCookies(res);
    expect(cookies.tg_refresh).toMatchObject({ httpOnly: true, sameSite: 'strict', path: '/graphql', secure: true, maxAge: REFRESH_TTL_SECONDS });
    expect(cookies.tg_refresh!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies.tg_csrf).toMatchObject({ sameSite: 'strict', path: '/', secure: true, maxAge: REFRESH_TTL_SECONDS });
    expect(cookies.tg_csrf!.httpOnly).toBeFalsy();
    expect(cookies.tg_csrf?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rawSetCookie(res, 'tg_refresh')).toMatch(/; HttpOnly/);
    expect(rawSetCookie(res, 'tg_csrf')).not.toMatch(/HttpOnly/i);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('login sets the cookies too; each session has its own tg_csrf', async () => {
    const { jar: first } = await signupWithCookies('cookie_login');
    const res = await server.gql<{ login: AuthPayload }>(LOGIN, { u: 'cookie_login', p: PASSWORD });
    expect(res.body.data!.login.refreshToken).toBe('');
    const second = remember({}, res);
    expect(second.refresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.refresh).not.toBe(first.refresh);
    expect(second.csrf).not.toBe(first.csrf);
  });

  it('verifyMfa (the TOTP second step) sets the cookies like login; the MFA_REQUIRED answer sets none', async () => {
    const { res: start } = await signupWithCookies('cookie_mfa');
    const token = start.body.data!.signup.accessToken;
    const enrolled = await server.gql<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }', {}, { token });
    const { secret } = enrolled.body.data!.enrollTotp;
    const confirmed = await server.gql('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, clock.now()) }, { token });
    expect(confirmed.body.errors).toBeUndefined();
    clock.advance(30);
    const first = await server.gql(LOGIN, { u: 'cookie_mfa', p: PASSWORD });
    expect(errorCode(first)).toBe('MFA_REQUIRED');
    expect(first.headers.getSetCookie()).toEqual([]);
    const mfaToken = first.body.errors![0]!.extensions!.mfaToken as string;
    const res = await server.gql<{ verifyMfa: AuthPayload }>(
      `mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`,
      { t: mfaToken, c: generateTotpCode(secret, clock.now()) },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.verifyMfa.refreshToken).toBe('');
    const jar = remember({}, res);
    expect(setCookies(res).tg_refresh).toMatchObject({ httpOnly: true, path: '/graphql', maxAge: REFRESH_TTL_SECONDS });
    expect(jar.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    clock.advance(1);
    // A refresh keeps amr, through the cookie as through the argument.
    const refreshed = await refreshFromCookie(jar);
    expect(refreshed.body.errors).toBeUndefined();
    expect(decodeClaims(refreshed.body.data!.refreshToken.accessToken)).toMatchObject({ amr: ['pwd', 'otp'] });
  });

  it('refreshToken without argument uses the cookie and X-CSRF-Token: a new tg_refresh, the same tg_csrf, Max-Age to the session end', async () => {
    const { res: start, jar } = await signupWithCookies('cookie_refresh');
    const csrfAtStart = jar.csrf;
    clock.advance(60);
    const res = await refreshFromCookie(jar);
    expect(res.body.errors).toBeUndefined();
    const pair = res.body.data!.refreshToken;
    expect(pair.refreshToken).toBe('');
    expect(decodeClaims(pair.accessToken).sid).toBe(decodeClaims(start.body.data!.signup.accessToken).sid);
    const cookies = setCookies(res);
    expect(cookies.tg_refresh!.value).not.toBe(jar.refresh);
    // Rolling session: a rotation pushes Session.expiresAt to a full lifetime from now.
    expect(cookies.tg_refresh!.maxAge).toBe(REFRESH_TTL_SECONDS);
    expect(cookies.tg_csrf).toMatchObject({ value: csrfAtStart, maxAge: REFRESH_TTL_SECONDS });
    const me = await server.gql('{ me { username } }', {}, { token: pair.accessToken });
    expect(me.body.data).toEqual({ me: { username: 'cookie_refresh' } });
  });

  it('two tabs refreshing with one cookie both stay signed in, with one tg_csrf between them', async () => {
    const { jar } = await signupWithCookies('cookie_tabs');
    const [a, b] = await Promise.all([refreshFromCookie(jar), refreshFromCookie(jar)]);
    expect(a.body.errors).toBeUndefined();
    expect(b.body.errors).toBeUndefined();
    expect(setCookies(a).tg_refresh!.value).toBe(setCookies(b).tg_refresh!.value);
    expect(setCookies(a).tg_csrf!.value).toBe(jar.csrf);
    expect(setCookies(b).tg_csrf!.value).toBe(jar.csrf);
  });

  it('refuses a cookie refresh without, or with a wrong, X-CSRF-Token (FORBIDDEN, reason CSRF) and uses nothing up', async () => {
    const { jar } = await signupWithCookies('cookie_csrf');
    const attempts = [
      await refreshFromCookie(jar, null),
      await refreshFromCookie(jar, ''),
      await refreshFromCookie(jar, `${jar.csrf}x`),
      await refreshFromCookie(jar, jar.csrf!.slice(0, -1)),
      // A forged tg_csrf cookie with a matching header (planted by a sibling site): not this session's value.
      await refreshFromCookie({ refresh: jar.refresh, csrf: 'forged-value' }, 'forged-value'),
      // No tg_csrf cookie at all.
      await refreshFromCookie({ refresh: jar.refresh }, jar.csrf),
    ];
    for (const res of attempts) {
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CSRF' });
      expect(res.body.data).toBeNull();
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    // Nothing was used up: the same cookie still refreshes, as the first use (no grace involved).
    clock.advance(60);
    const ok = await refreshFromCookie(jar);
    expect(ok.body.errors).toBeUndefined();
    expect(setCookies(ok).tg_refresh!.value).not.toBe(jar.refresh);
  });

  it('a forged cross-origin request without the header cannot refresh even with the browser-sent cookies', async () => {
    const { jar } = await signupWithCookies('cookie_forged');
    const res = await refreshFromCookie(jar, null, { origin: 'http://evil.example.test' });
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CSRF' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('the tg_csrf of one session does not unlock another session\'s cookie', async () => {
    const { jar: alice } = await signupWithCookies('cookie_alice');
    const { jar: bob } = await signupWithCookies('cookie_bob');
    const res = await refreshFromCookie({ refresh: alice.refresh, csrf: bob.csrf }, bob.csrf);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CSRF' });
  });

  it('a cookie refresh without tg_refresh is INVALID_REFRESH_TOKEN', async () => {
    const { jar } = await signupWithCookies('cookie_norefresh');
    const res = await refreshFromCookie({ csrf: jar.csrf });
    expect(errorCode(res)).toBe('INVALID_REFRESH_TOKEN');
  });

  it('refreshToken with an argument works as before, with no CSRF check, and sets the cookies', async () => {
    const { jar } = await signupWithCookies('cookie_argument');
    clock.advance(1);
    const res = await server.gql<{ refreshToken: AuthPayload }>(REFRESH_WITH_ARGUMENT, { t: jar.refresh });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.refreshToken.refreshToken).toBe('');
    expect(setCookies(res).tg_refresh!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookies(res).tg_csrf!.value).toBe(jar.csrf);
  });

  it('changePassword sets the cookies of the restarted chain; the old cookie stops working', async () => {
    const { res: start, jar } = await signupWithCookies('cookie_password');
    const res = await server.gql<{ changePassword: AuthPayload }>(
      `mutation { changePassword(currentPassword: "${PASSWORD}", newPassword: "another long passphrase") { ${AUTH_FIELDS} } }`,
      {},
      { token: start.body.data!.signup.accessToken },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.changePassword.refreshToken).toBe('');
    const after = remember({}, res);
    expect(after.refresh).not.toBe(jar.refresh);
    expect(after.csrf).toBe(jar.csrf);
    expect(setCookies(res).tg_refresh).toMatchObject({ httpOnly: true, path: '/graphql', maxAge: REFRESH_TTL_SECONDS });
    clock.advance(60);
    expect(errorCode(await refreshFromCookie(jar))).toBe('INVALID_REFRESH_TOKEN');
    expect((await refreshFromCookie(after)).body.errors).toBeUndefined();
  });

  it('logout clears both cookies (Max-Age=0) and the ended session\'s cookie is INVALID_REFRESH_TOKEN', async () => {
    const { res: start, jar } = await signupWithCookies('cookie_logout');
    const res = await server.gql('mutation { logout }', {}, { token: start.body.data!.signup.accessToken });
    expect(res.body.data).toEqual({ logout: true });
    const cookies = setCookies(res);
    expect(cookies.tg_refresh).toMatchObject({ value: '', maxAge: 0, path: '/graphql', httpOnly: true });
    expect(cookies.tg_csrf).toMatchObject({ value: '', maxAge: 0, path: '/' });
    expect(errorCode(await refreshFromCookie(jar))).toBe('INVALID_REFRESH_TOKEN');
  });

  it('logoutAll clears both cookies', async () => {
    const { res: start } = await signupWithCookies('cookie_logoutall');
    const res = await server.gql('mutation { logoutAll }', {}, { token: start.body.data!.signup.accessToken });
    expect(res.body.data).toEqual({ logoutAll: 1 });
    expect(setCookies(res).tg_refresh).toMatchObject({ value: '', maxAge: 0 });
    expect(setCookies(res).tg_csrf).toMatchObject({ value: '', maxAge: 0 });
  });

  it('a refused mutation sets no cookie', async () => {
    const res = await server.gql(LOGIN, { u: 'cookie_nobody', p: 'wrong password here' });
    expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
    expect(res.headers.getSetCookie()).toEqual([]);
    const logout = await server.gql('mutation { logout }');
    expect(errorCode(logout)).toBe('UNAUTHENTICATED');
    expect(logout.headers.getSetCookie()).toEqual([]);
  });

  it('CORS: a listed origin gets Access-Control-Allow-Credentials and may send X-CSRF-Token; others get nothing', async () => {
    const preflight = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-csrf-token' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-csrf-token/);
    const allowed = await server.gql('{ __typename }', {}, { headers: { origin: ORIGIN } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await fetch(`${server.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'http://evil.example.test', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('cookie transport settings', () => {
  it('COOKIE_SECURE=false leaves Secure off (plain-http development); no CORS_ORIGINS reflects no origin', async () => {
    const server = await startServer({ REFRESH_TOKEN_COOKIE: 'true', COOKIE_SECURE: 'false', NODE_ENV: 'development' });
    try {
      const res = await server.gql(SIGNUP, { u: 'insecure', p: PASSWORD }, { headers: { origin: 'http://localhost:5173' } });
      expect(rawSetCookie(res, 'tg_refresh')).not.toMatch(/Secure/i);
      expect(rawSetCookie(res, 'tg_csrf')).not.toMatch(/Secure/i);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('with cookies off: a real refresh token in the payload, no Set-Cookie, and refreshToken needs its argument', async () => {
    const server = await startServer({});
    try {
      const res = await server.gql<{ signup: AuthPayload }>(SIGNUP, { u: 'headers', p: PASSWORD }, { headers: { origin: 'http://localhost:5173' } });
      expect(res.body.data!.signup.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      const noArgument = await server.gql(REFRESH_FROM_COOKIE, {}, { headers: { cookie: 'tg_refresh=x; tg_csrf=y', 'x-csrf-token': 'y' } });
      expect(noArgument.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'refreshToken' });
    } finally {
      await server.stop();
    }
  });

  it('start-up refuses CORS_ORIGINS=* with cookies on', () => {
    const env = testEnv({ env: {}, dir: '', dispose: async () => {} }, { REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'http://a.test,*' });
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/CORS_ORIGINS must list exact origins when REFRESH_TOKEN_COOKIE=true/);
    expect(() => loadConfig({ ...env, REFRESH_TOKEN_COOKIE: 'false' })).not.toThrow();
  });
});
