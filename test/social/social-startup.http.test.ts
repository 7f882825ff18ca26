import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createStorage, type Storage } from '../helpers/backend.js';
import { CookieJar, signInAtProvider, startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { testEnv } from '../helpers/server.js';
import { APP_ORIGIN, APP_URL, COMPLETE, START, followCallback, freePort, gqlInBrowser, runFlow, startSocialWorld, type SocialWorld } from './social-helpers.js';

describe('social sign-in: start-up, cookie mode, several instances', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('starts while a provider is down, reports it not ready, and picks it up once it answers', async () => {
    const port = await freePort();
    const providerPort = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const storage: Storage = await createStorage();
    cleanups.push(() => storage.dispose());
    const config = loadConfig(
      testEnv(storage, {
        PUBLIC_URL: base,
        OIDC_PROVIDERS: 'late',
        OIDC_LATE_ISSUER: `http://127.0.0.1:${providerPort}`,
        OIDC_LATE_CLIENT_ID: 'tokengate-late',
        OIDC_LATE_CLIENT_SECRET: 'late-client-secret-0123456789',
        OAUTH_REDIRECT_ORIGINS: APP_ORIGIN,
      }),
    );
    const app = buildApp(config);
    // Returns although nothing answers at the issuer: discovery runs in the background.
    await app.start();
    cleanups.push(() => app.stop());
    await app.listen(port, '127.0.0.1');
    // Shown, not gating: every instance shares the provider, and password sign-in still works without it.
    const down = await fetch(`${base}/readyz`);
    expect(down.status).toBe(200);
    expect(await down.json()).toMatchObject({ status: 'degraded', checks: { database: 'ok', oidc_late: 'down' } });
    const refused = await gqlInBrowser(new CookieJar(), base, START, { p: 'late', r: APP_URL });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'OAUTH_FAILED', reason: 'PROVIDER' });
    // The provider comes up; the retry (1 s, then doubling) finds it.
    const provider: TestProvider = await startTestProvider({ port: providerPort, clientId: 'tokengate-late', clientSecret: 'late-client-secret-0123456789', redirectUris: [`${base}/oauth/callback/late`], idTokenClaims: true });
    cleanups.push(() => provider.stop());
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      ready = ((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status === 'ok';
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(ready).toBe(true);
    const jar = new CookieJar();
    const started = await gqlInBrowser<{ startOAuth: string }>(jar, base, START, { p: 'late', r: APP_URL });
    const callbackUrl = await signInAtProvider(jar, started.body.data!.startOAuth, 'late-user', `${base}/oauth/callback/`);
    expect((await followCallback(jar, callbackUrl)).code).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('answers completeOAuth with the cookies in cookie mode (refreshToken "")', async () => {
    const world: SocialWorld = await startSocialWorld({ REFRESH_TOKEN_COOKIE: 'true', COOKIE_SECURE: 'false', CORS_ORIGINS: APP_ORIGIN });
    cleanups.push(() => world.stop());
    const flow = await runFlow(world, 'alpha', 'cookie-user');
    const res = await gqlInBrowser<{ completeOAuth: { refreshToken: string; accessToken: string } }>(flow.jar, world.server.url, COMPLETE, { c: flow.code });
    expect(res.body.data?.completeOAuth.refreshToken).toBe('');
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('tg_refresh=') && /HttpOnly/i.test(c))).toBe(true);
    expect(cookies.some((c) => c.startsWith('tg_csrf='))).toBe(true);
    // The cookie refreshes like any other session's.
    const refreshed = await fetch(`${world.server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: flow.jar.header(world.server.url)!, 'x-csrf-token': flow.jar.get(world.server.url, 'tg_csrf')! },
      body: JSON.stringify({ query: 'mutation { refreshToken { accessToken } }' }),
    });
    expect(((await refreshed.json()) as { data?: { refreshToken?: { accessToken?: string } } }).data?.refreshToken?.accessToken).toMatch(/^ey/);
  });

  it('limits startOAuth per client address (RATE_LIMIT_OAUTH_ADDRESS): each call writes a flow row', async () => {
    const world: SocialWorld = await startSocialWorld({ RATE_LIMIT_OAUTH_ADDRESS: '2/1h' });
    cleanups.push(() => world.stop());
    const jar = new CookieJar();
    for (let i = 0; i < 2; i++) expect((await gqlInBrowser(jar, world.server.url, START, { p: 'alpha', r: APP_URL })).body.errors).toBeUndefined();
    const third = await gqlInBrowser(jar, world.server.url, START, { p: 'alpha', r: APP_URL });
    expect(third.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(await world.server.app.db.selectFrom('oauth_flows').select('state_hash').execute()).toHaveLength(2);
  });

  it('lets another instance on the same database finish a flow one instance started', async () => {
    const world: SocialWorld = await startSocialWorld();
    cleanups.push(() => world.stop());
    // A second instance with the same configuration and storage, on its own port.
    const other: App = buildApp(world.server.config);
    await other.start();
    cleanups.push(() => other.stop());
    const otherPort = await other.listen(0, '127.0.0.1');
    world.alpha.accounts.set('two-instances', { preferred_username: 'two-instances' });
    const jar = new CookieJar();
    const started = await gqlInBrowser<{ startOAuth: string }>(jar, world.server.url, START, { p: 'alpha', r: APP_URL });
    const callbackUrl = await signInAtProvider(jar, started.body.data!.startOAuth, 'two-instances', `${world.server.url}/oauth/callback/`);
    // The load balancer sends the callback to the other instance (the jar's cookies are host-scoped: carry them over).
    const otherBase = `http://127.0.0.1:${otherPort}`;
    jar.set(otherBase, 'tg_oauth', jar.get(world.server.url, 'tg_oauth')!);
    await waitReady(otherBase);
    const result = await followCallback(jar, callbackUrl.replace(world.server.url, otherBase));
    expect(result.code).not.toBeNull();
    const done = await gqlInBrowser<{ completeOAuth: { user: { username: string } } }>(jar, world.server.url, COMPLETE, { c: result.code });
    expect(done.body.data?.completeOAuth.user.username).toBe('two-instances');
  });
});

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${base} did not become ready`);
}
