import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { browse, CookieJar, signInAtProvider } from '../helpers/oidc-provider.js';
import { errorCode } from '../helpers/server.js';
import {
  APP_URL,
  COMPLETE,
  followCallback,
  gqlInBrowser,
  runFlow,
  START,
  startOAuth,
  startSocialWorld,
  type CallbackResult,
  type SocialWorld,
} from './social-helpers.js';

/** Every way a social sign-in must fail, each with the reason the contract names. */
describe('social sign-in refusals', () => {
  let world: SocialWorld;
  const clock = new ManualClock(Date.now());
  const logs = capturingLogger();
  /** Every secret value the tests saw: none may reach a log line or an audit event. */
  const secrets = new Set<string>();
  beforeAll(async () => {
    world = await startSocialWorld({ LOG_LEVEL: 'info' }, { clock, logger: logs.logger });
    world.alpha.accounts.set('carol', { email: 'carol@example.com', email_verified: true, preferred_username: 'carol' });
    world.beta.accounts.set('carol', { email: 'carol@example.com', email_verified: true, preferred_username: 'carol' });
    secrets.add(world.alpha.clientSecret).add(world.beta.clientSecret);
  });
  afterAll(async () => {
    await world?.stop();
  });

  const callbackPrefix = () => `${world.server.url}/oauth/callback/`;
  /** Notes the state, nonce and code of a URL as secrets. */
  const remember = (url: string) => {
    const parsed = new URL(url);
    for (const name of ['state', 'nonce', 'code', 'code_challenge']) {
      const value = parsed.searchParams.get(name);
      if (value) secrets.add(value);
    }
    return url;
  };
  /** A started flow, signed in at the provider, its callback URL not yet visited. */
  async function atCallback(provider: 'alpha' | 'beta', jar = new CookieJar(), rewrite: (url: URL) => void = () => {}): Promise<{ jar: CookieJar; callbackUrl: string }> {
    const authorizationUrl = new URL(remember(await startOAuth(world, jar, provider)));
    rewrite(authorizationUrl);
    const callbackUrl = remember(await signInAtProvider(jar, authorizationUrl.href, 'carol', callbackPrefix()));
    return { jar, callbackUrl };
  }
  const expectFailure = (result: CallbackResult, reason: string) => {
    expect(result.status).toBe(303);
    expect(result.location?.startsWith(`${APP_URL}#`)).toBe(true);
    expect(result.code).toBeNull();
    expect(result.error).toBe('OAUTH_FAILED');
    expect(result.reason).toBe(reason);
  };

  describe('startOAuth', () => {
    it('refuses an unknown provider (BAD_USER_INPUT, field provider)', async () => {
      const res = await world.server.gql(START, { p: 'gamma', r: APP_URL });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.extensions?.field).toBe('provider');
    });

    it.each([
      ['another origin', 'https://evil.example/steal'],
      ['a look-alike host', 'http://app.test:5173.evil.example/'],
      ['another port', 'http://app.test:5174/signed-in'],
      ['another scheme', 'https://app.test:5173/signed-in'],
      ['a script URL', 'javascript:alert(1)'],
      ['a relative URL', '/signed-in'],
      ['user info in the URL', 'http://evil@app.test:5173/'],
    ])('refuses a redirectTo outside OAUTH_REDIRECT_ORIGINS: %s', async (_what, redirectTo) => {
      const res = await world.server.gql(START, { p: 'alpha', r: redirectTo });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.body.errors?.[0]?.extensions?.field).toBe('redirectTo');
    });

    it('refuses link: true without a token, and with a token that is not fresh', async () => {
      const anonymous = await world.server.gql(START, { p: 'alpha', r: APP_URL, l: true });
      expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
      const signedUp = await world.server.gql<{ signup: { refreshToken: string } }>('mutation { signup(username: "dave", password: "correct horse battery") { refreshToken } }');
      const refreshed = await world.server.gql<{ refreshToken: { accessToken: string } }>('mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', {
        r: signedUp.body.data!.signup.refreshToken,
      });
      const stale = await world.server.gql(START, { p: 'alpha', r: APP_URL, l: true }, { token: refreshed.body.data!.refreshToken.accessToken });
      expect(errorCode(stale)).toBe('FRESH_TOKEN_REQUIRED');
    });

    it('binds the flow with an HttpOnly, SameSite=Lax cookie scoped to the callback', async () => {
      const res = await fetch(`${world.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: START, variables: { p: 'alpha', r: APP_URL } }) });
      const cookie = res.headers.getSetCookie().find((line) => line.startsWith('tg_oauth='));
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).toMatch(/Path=\/oauth\/callback\//);
      expect(cookie).toMatch(/Max-Age=600/);
    });
  });

  describe('the callback', () => {
    it('answers 404 for an unknown provider and 400 for an unknown or missing state', async () => {
      expect((await browse(new CookieJar(), `${world.server.url}/oauth/callback/gamma?code=x&state=y`)).status).toBe(404);
      const { jar, callbackUrl } = await atCallback('alpha');
      const forged = new URL(callbackUrl);
      forged.searchParams.set('state', 'A'.repeat(43));
      const unknown = await browse(jar, forged.href);
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toContain('OAUTH_FAILED: STATE');
      forged.searchParams.delete('state');
      expect((await browse(jar, forged.href)).status).toBe(400);
      // The real one still works: a forged state spent nothing.
      const real = await followCallback(jar, callbackUrl);
      expect(real.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('refuses a replayed state (STATE)', async () => {
      const { jar, callbackUrl } = await atCallback('alpha');
      const first = await followCallback(jar, callbackUrl);
      expect(first.code).not.toBeNull();
      expectFailure(await followCallback(jar, callbackUrl), 'STATE');
    });

    it('refuses a callback in another browser than the one that started the flow (STATE): no login CSRF', async () => {
      const { callbackUrl } = await atCallback('alpha');
      // The victim's browser, lured to the attacker's callback URL, has no tg_oauth cookie, or another one.
      expectFailure(await followCallback(new CookieJar(), callbackUrl), 'STATE');
      const { callbackUrl: second } = await atCallback('alpha');
      const victim = new CookieJar();
      await startOAuth(world, victim, 'alpha');
      expectFailure(await followCallback(victim, second), 'STATE');
    });

    it('refuses a state older than 10 minutes (STATE)', async () => {
      const jar = new CookieJar();
      const authorizationUrl = remember(await startOAuth(world, jar, 'alpha'));
      clock.advance(601);
      const callbackUrl = remember(await signInAtProvider(jar, authorizationUrl, 'carol', callbackPrefix()));
      expectFailure(await followCallback(jar, callbackUrl), 'STATE');
    });

    it('refuses a code from the other provider at this provider\'s callback (mix-up, RFC 9207 iss)', async () => {
      const jar = new CookieJar();
      const alphaState = new URL(remember(await startOAuth(world, jar, 'alpha'))).searchParams.get('state')!;
      const { callbackUrl: betaCallback } = await atCallback('beta', jar);
      const beta = new URL(betaCallback);
      expect(beta.searchParams.get('iss')).toBe(world.beta.issuer);
      // beta's code and iss, with alpha's state, at alpha's callback.
      const mixed = new URL(`${world.server.url}/oauth/callback/alpha`);
      mixed.searchParams.set('code', beta.searchParams.get('code')!);
      mixed.searchParams.set('state', alphaState);
      mixed.searchParams.set('iss', world.beta.issuer);
      expectFailure(await followCallback(jar, mixed.href), 'PROVIDER');
      // Without the iss parameter: alpha says it always sends one, so its absence is refused too.
      const alphaState2 = new URL(remember(await startOAuth(world, jar, 'alpha'))).searchParams.get('state')!;
      mixed.searchParams.set('state', alphaState2);
      mixed.searchParams.delete('iss');
      expectFailure(await followCallback(jar, mixed.href), 'PROVIDER');
      // beta's whole answer at alpha's callback: the state belongs to another provider.
      const wrongPlace = new URL(`${world.server.url}/oauth/callback/alpha${beta.search}`);
      expectFailure(await followCallback(jar, wrongPlace.href), 'STATE');
    });

    it('answers PROVIDER when the provider answers an error (the user declined)', async () => {
      const jar = new CookieJar();
      const state = new URL(remember(await startOAuth(world, jar, 'alpha'))).searchParams.get('state')!;
      const declined = `${world.server.url}/oauth/callback/alpha?error=access_denied&state=${state}&iss=${encodeURIComponent(world.alpha.issuer)}`;
      expectFailure(await followCallback(jar, declined), 'PROVIDER');
    });

    it('refuses an ID token whose nonce is not this flow\'s (ID_TOKEN)', async () => {
      const { jar, callbackUrl } = await atCallback('alpha', new CookieJar(), (url) => url.searchParams.set('nonce', 'a-nonce-of-another-flow'));
      expectFailure(await followCallback(jar, callbackUrl), 'ID_TOKEN');
    });

    it('refuses a code redeemed without this flow\'s PKCE verifier (CODE)', async () => {
      const { jar, callbackUrl } = await atCallback('alpha', new CookieJar(), (url) => url.searchParams.set('code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'));
      expectFailure(await followCallback(jar, callbackUrl), 'CODE');
    });

    it.each([
      ['another audience', { claims: (p: Record<string, unknown>) => ({ ...p, aud: 'another-client' }) }],
      ['another issuer', { claims: (p: Record<string, unknown>) => ({ ...p, iss: 'http://127.0.0.1:1/' }) }],
      ['an expired token', { claims: (p: Record<string, unknown>) => ({ ...p, iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 }) }],
      ['a signature by another key', { key: 'other' as const }],
      ['an HMAC signature (alg HS256)', { key: 'hs256' as const }],
    ])('refuses an ID token with %s (ID_TOKEN)', async (_what, tamper) => {
      const { jar, callbackUrl } = await atCallback('alpha');
      world.alpha.tamperNextIdToken(tamper);
      expectFailure(await followCallback(jar, callbackUrl), 'ID_TOKEN');
    });
  });

  describe('completeOAuth', () => {
    it('refuses a one-time code used twice, older than 60 seconds, or made up (CODE)', async () => {
      const used = await runFlow(world, 'alpha', 'carol');
      secrets.add(used.code!);
      expect((await gqlInBrowser(used.jar, world.server.url, COMPLETE, { c: used.code })).body.errors).toBeUndefined();
      const again = await gqlInBrowser(used.jar, world.server.url, COMPLETE, { c: used.code });
      expect(errorCode(again)).toBe('OAUTH_FAILED');
      expect(again.body.errors?.[0]?.extensions?.reason).toBe('CODE');

      const late = await runFlow(world, 'alpha', 'carol');
      secrets.add(late.code!);
      clock.advance(61);
      const expired = await gqlInBrowser(late.jar, world.server.url, COMPLETE, { c: late.code });
      expect(errorCode(expired)).toBe('OAUTH_FAILED');
      expect(expired.body.errors?.[0]?.extensions?.reason).toBe('CODE');

      const madeUp = await world.server.gql(COMPLETE, { c: 'B'.repeat(43) });
      expect(madeUp.body.errors?.[0]?.extensions).toMatchObject({ code: 'OAUTH_FAILED', reason: 'CODE' });
    });
  });

  it('lets exactly one of two parallel callbacks with one state, or redemptions of one code, win', async () => {
    const { jar, callbackUrl } = await atCallback('alpha');
    const callbacks = await Promise.all([followCallback(jar, callbackUrl), followCallback(jar, callbackUrl)]);
    expect(callbacks.filter((c) => c.code !== null)).toHaveLength(1);
    expect(callbacks.filter((c) => c.reason === 'STATE')).toHaveLength(1);
    const code = callbacks.find((c) => c.code !== null)!.code!;
    secrets.add(code);
    const redemptions = await Promise.all([gqlInBrowser(jar, world.server.url, COMPLETE, { c: code }), gqlInBrowser(jar, world.server.url, COMPLETE, { c: code })]);
    expect(redemptions.filter((r) => r.body.data?.completeOAuth)).toHaveLength(1);
    expect(redemptions.filter((r) => errorCode(r) === 'OAUTH_FAILED')).toHaveLength(1);
  });

  it('writes no code, state, nonce, token or secret into any log line or audit event', async () => {
    const events = await world.server.app.db.selectFrom('audit_events').selectAll().execute();
    expect(events.length).toBeGreaterThan(0);
    const trail = JSON.stringify(events);
    const logText = logs.lines.join('\n');
    expect(logText).toContain('oauth.callback');
    for (const secret of secrets) {
      expect(logText.includes(secret), `a log line holds ${secret}`).toBe(false);
      expect(trail.includes(secret), `an audit event holds ${secret}`).toBe(false);
    }
    const failures = events.filter((e) => e.type === 'login.failure').map((e) => JSON.parse(e.details ?? '{}') as Record<string, unknown>);
    expect(new Set(failures.map((d) => d.reason))).toEqual(new Set(['STATE', 'PROVIDER', 'ID_TOKEN', 'CODE']));
  });
});
