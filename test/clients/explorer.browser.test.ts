import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { CHROMIUM_PATH, describeBrowser, launchBrowser, startBuiltServer, type BrowserTab, type BuiltServer, type TestBrowser } from '../helpers/browser.js';

/*
 * The explorer as a person meets it: the production build (node dist/main.js,
 * NODE_ENV=production, SQLite) with EXPLORER=graphiql and 3-second access
 * tokens, driven in Debian's Chromium. Every page asserts that it made no
 * request to another origin and logged no error (CSP violations included).
 */

const PASSWORD = 'correct horse battery staple';

async function loginFromNode(server: BuiltServer, username: string): Promise<{ accessToken: string }> {
  const body = (await server.gql('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken user { id username roles } } }', { u: username, p: PASSWORD })).body;
  if (!body.data?.login) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
  return body.data.login as { accessToken: string };
}

/** Opens the explorer, optionally with an operation in the editor (`?query=`), and waits for GraphiQL and its schema. */
async function openExplorer(tab: BrowserTab, server: BuiltServer, query?: string): Promise<void> {
  const url = `${server.url}/graphql${query ? `?query=${encodeURIComponent(query)}` : ''}`;
  const schema = tab.page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('IntrospectionQuery'));
  const response = await tab.page.goto(url);
  expect(response?.status()).toBe(200);
  await tab.page.locator('.graphiql-query-editor .monaco-editor').waitFor();
  expect((await schema).status()).toBe(200);
  await tab.page.locator('.graphiql-spinner').first().waitFor({ state: 'hidden' });
}

async function logIn(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.getByRole('tab', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe(username);
}

/**
 * Runs what is in the editor and returns the response pane's text. Done is
 * when the request went out and GraphiQL's button says "Execute" again (it
 * says "Stop" while the fetcher, retry included, is still at work).
 */
async function run(tab: BrowserTab): Promise<string> {
  const { page } = tab;
  const sent = tab.graphqlRequests.length;
  await page.getByRole('button', { name: /^Execute query/ }).click();
  await expect.poll(() => tab.graphqlRequests.length).toBeGreaterThan(sent);
  await page.getByRole('button', { name: /^Execute query/ }).waitFor();
  await expect.poll(async () => (await page.locator('.graphiql-response').innerText()).includes('}')).toBe(true);
  return (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, ' ');
}

/** Waits (by polling the page's clock, no fixed sleep) until the panel's access token has expired. */
async function waitForExpiry(page: Page): Promise<void> {
  const expiresAt = Number(await page.getByTestId('token-expiry').getAttribute('data-expires-at'));
  expect(expiresAt).toBeGreaterThan(0);
  await page.waitForFunction((at) => Date.now() >= at + 250, expiresAt, { polling: 100, timeout: 15_000 });
}

// Counted as a failed test (not only a failed hook) when CI has no Chromium.
it.runIf(process.env.CI === 'true' || existsSync(CHROMIUM_PATH))(`Chromium is installed at ${CHROMIUM_PATH}`, () => {
  expect(existsSync(CHROMIUM_PATH)).toBe(true);
});

describeBrowser('the explorer in Chromium (EXPLORER=graphiql, production build)', () => {
  let server: BuiltServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startBuiltServer({ EXPLORER: 'graphiql', INTROSPECTION: 'true', ACCESS_TOKEN_TTL: '3s' });
    browser = await launchBrowser();
    const signup = (await server.gql('mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }', { u: 'alice', p: PASSWORD })).body;
    expect(signup.errors).toBeUndefined();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('loads from its own origin only, under a strict CSP, with no console errors', async () => {
    const tab = await browser.open(server.url, 'explorer');
    try {
      const finished: Request[] = [];
      tab.page.on('requestfinished', (request) => finished.push(request));
      const schema = tab.page.waitForResponse((r) => (r.request().postData() ?? '').includes('IntrospectionQuery'));
      const response = await tab.page.goto(`${server.url}/graphql`);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
      await tab.page.locator('.graphiql-query-editor .monaco-editor').waitFor();
      expect((await schema).status()).toBe(200);
      await tab.page.locator('.graphiql-spinner').first().waitFor({ state: 'hidden' });
      // Monaco's GraphQL language worker runs, started from our own origin under the CSP.
      await expect.poll(() => tab.page.workers().map((w) => new URL(w.url()).pathname).join(' ')).toMatch(/\/explorer\/assets\/graphql\.worker-[\w-]+\.js/);
      for (const worker of tab.page.workers()) expect(new URL(worker.url()).origin).toBe(server.url);
      await tab.screenshot('01-loaded');
      // What a first visit costs (gzip on the wire), for the README; not an assertion.
      const assets = finished.filter((r) => new URL(r.url()).pathname.startsWith('/explorer/'));
      const sizes = await Promise.all(assets.map((r) => r.sizes()));
      const wire = sizes.reduce((sum, size) => sum + size.responseBodySize, 0);
      console.log(`explorer first load: ${assets.length} asset requests, ${(wire / 1024).toFixed(0)} KiB on the wire`);
      expect(tab.graphqlRequests.some((r) => r.operationName === 'IntrospectionQuery')).toBe(true);
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('logs in, runs { me { username } } as the user, refreshes once after expiry, and signs out', async () => {
    const tab = await browser.open(server.url, 'explorer');
    const { page } = tab;
    try {
      await openExplorer(tab, server, '{ me { username } }');
      await logIn(page, 'alice');
      await expect.poll(() => page.getByTestId('session-badge').textContent()).toBe('as alice');
      await tab.screenshot('02-signed-in');

      const first = await run(tab);
      expect(first).toContain('"username": "alice"');
      const signed = tab.graphqlRequests.filter((r) => r.body?.includes('me { username }'));
      expect(signed.at(-1)?.headers.authorization).toMatch(/^Bearer ey/);
      const firstToken = signed.at(-1)!.headers.authorization!;
      await tab.screenshot('03-me');

      // The 3-second token expires; the next query meets TOKEN_EXPIRED, the panel refreshes once and retries.
      await waitForExpiry(page);
      await expect.poll(() => page.getByTestId('token-expiry').textContent()).toContain('expired');
      const refreshesBefore = tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken').length;
      const second = await run(tab);
      expect(second).toContain('"username": "alice"');
      expect(second).not.toContain('TOKEN_EXPIRED');
      expect(tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken').length - refreshesBefore).toBe(1);
      // Header mode: the refresh token travels as the argument, from the page's memory.
      expect(tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken').at(-1)?.body).toContain('"refreshToken":"');
      const retried = tab.graphqlRequests.filter((r) => r.body?.includes('me { username }'));
      // The expired attempt, then the retry with the new token.
      expect(retried.at(-2)?.headers.authorization).toBe(firstToken);
      expect(retried.at(-1)?.headers.authorization).not.toBe(firstToken);
      await expect.poll(() => page.getByTestId('refresh-count').textContent()).toBe('once');
      expect(await page.getByTestId('token-expiry').textContent()).toContain('expires in');
      await tab.screenshot('04-refreshed');

      // Sign out: the session ends on the server, and queries are anonymous again.
      const current = retried.at(-1)!.headers.authorization!.slice('Bearer '.length);
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await expect.poll(() => page.locator('.tg-notice').textContent()).toContain('Signed out');
      expect(await page.getByTestId('session-badge').textContent()).toBe('anonymous');
      const revoked = (await server.gql('{ me { username } }', {}, current)).body;
      expect(revoked.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
      const anonymous = await run(tab);
      expect(anonymous).toContain('MISSING_TOKEN');
      await tab.screenshot('05-signed-out');

      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('signs up from the panel and "sign out everywhere" ends every session of the user', async () => {
    const tab = await browser.open(server.url, 'explorer');
    const { page } = tab;
    try {
      await openExplorer(tab, server);
      await page.getByRole('tab', { name: 'Sign up' }).click();
      await page.getByLabel('Username').fill('bob');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe('bob');
      // Another device of bob's.
      const elsewhere = await loginFromNode(server, 'bob');
      expect((await server.gql('{ me { username } }', {}, elsewhere.accessToken)).body.data).toEqual({ me: { username: 'bob' } });

      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await expect.poll(() => page.locator('.tg-notice').textContent()).toContain('2 sessions ended');
      const after = (await server.gql('{ me { username } }', {}, elsewhere.accessToken)).body;
      expect(after.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
      await tab.screenshot('06-signed-out-everywhere');
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('shows each field’s requirement in the docs', async () => {
    const tab = await browser.open(server.url, 'explorer');
    const { page } = tab;
    try {
      await openExplorer(tab, server);
      await page.getByRole('button', { name: /Show Documentation Explorer/ }).click();
      await page.locator('.graphiql-doc-explorer').getByText('Mutation', { exact: true }).click();
      const docs = page.locator('.graphiql-doc-explorer');
      await expect.poll(() => docs.innerText()).toContain('changePassword');
      const text = await docs.innerText();
      expect(text).toMatch(/Requires:\s*signed in · fresh token/);
      expect(text).toMatch(/Requires:\s*signed in · role ADMIN/);
      expect(text).toMatch(/Requires:\s*public: no sign-in needed/);
      await tab.screenshot('07-requirements');
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('asks for the TOTP code when login answers MFA_REQUIRED, then signs in with verifyMfa', async () => {
    // erin turns TOTP on (enrollTotp + confirmTotp with a fresh token), as in the README.
    const signup = (await server.gql('mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }', { u: 'erin', p: PASSWORD })).body;
    const fresh = (signup.data?.signup as { accessToken: string }).accessToken;
    const enrollment = (await server.gql('mutation { enrollTotp { secret } }', {}, fresh)).body;
    const secret = (enrollment.data?.enrollTotp as { secret: string }).secret;
    const confirmed = (await server.gql('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, Date.now()) }, fresh)).body;
    expect(confirmed.errors).toBeUndefined();

    const tab = await browser.open(server.url, 'explorer');
    const { page } = tab;
    try {
      await openExplorer(tab, server, '{ me { username } }');
      await page.getByLabel('Username').fill('erin');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.getByRole('textbox', { name: 'Code' }).fill('000000');
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => page.locator('.tg-notice').textContent()).toContain('INVALID_MFA_CODE');
      await tab.screenshot('08-totp-step');
      // The next step's code: the current one was spent by confirmTotp (no replay), one step of skew is allowed.
      await page.getByRole('textbox', { name: 'Code' }).fill(generateTotpCode(secret, Date.now() + 30_000));
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe('erin');
      expect(tab.graphqlRequests.filter((r) => r.operationName === 'VerifyMfa')).toHaveLength(2);
      expect(await run(tab)).toContain('"username": "erin"');
      expect(await page.getByTestId('token-expiry').locator('xpath=following-sibling::dd[1]').textContent()).toContain('yes');
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });

  it('with a tg_csrf cookie, tries to restore a cookie session on load and stays usable when the server has none', async () => {
    const tab = await browser.open(server.url, 'explorer');
    const { page } = tab;
    try {
      await tab.context.addCookies([{ name: 'tg_csrf', value: 'csrf-from-an-old-session', url: server.url, sameSite: 'Strict' }]);
      await openExplorer(tab, server);
      await expect.poll(() => tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken').length).toBe(1);
      const restore = tab.graphqlRequests.find((r) => r.operationName === 'RefreshToken')!;
      expect(restore.headers['x-csrf-token']).toBe('csrf-from-an-old-session');
      expect(restore.body).not.toContain('"refreshToken":"'); // no token from JS: the cookie is the credential
      await expect.poll(() => page.getByRole('button', { name: 'Log in', exact: true }).isEnabled()).toBe(true);
      expect(await page.getByTestId('session-badge').textContent()).toBe('anonymous');
      await logIn(page, 'alice');
      // The refused restore is an HTTP 400 (this server knows no cookie refresh), which Chromium logs; nothing else may be.
      expect(tab.consoleErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});

describeBrowser('the explorer with cookie sessions (REFRESH_TOKEN_COOKIE=true)', () => {
  let server: BuiltServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    server = await startBuiltServer({ EXPLORER: 'graphiql', INTROSPECTION: 'true', ACCESS_TOKEN_TTL: '3s', REFRESH_TOKEN_COOKIE: 'true', COOKIE_SECURE: 'false', CORS_ORIGINS: 'http://127.0.0.1' });
    browser = await launchBrowser();
    expect((await server.gql('mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }', { u: 'carol', p: PASSWORD })).body.errors).toBeUndefined();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a reload keeps the person signed in, and the token refreshes through the cookie', async () => {
    const probe = await server.gql('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { refreshToken } }', { u: 'carol', p: PASSWORD });
    // REFRESH_TOKEN_COOKIE=true: login sets the readable CSRF cookie next to the HttpOnly refresh cookie.
    expect(probe.headers.getSetCookie().some((c) => c.startsWith('tg_csrf='))).toBe(true);
    const tab = await browser.open(server.url, 'explorer-cookie');
    const { page } = tab;
    try {
      await openExplorer(tab, server, '{ me { username } }');
      await logIn(page, 'carol');
      expect(await page.getByText('HttpOnly cookie').count()).toBeGreaterThan(0);
      await page.reload();
      await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe('carol');
      await tab.screenshot('01-restored-after-reload');
      await waitForExpiry(page);
      expect(await run(tab)).toContain('"username": "carol"');
      const refreshes = tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken');
      // One on reload, one after expiry; each with the CSRF header and no token from JS (the cookie is the credential).
      expect(refreshes).toHaveLength(2);
      for (const r of refreshes) {
        expect(r.headers['x-csrf-token']).toMatch(/.+/);
        expect(r.body).not.toContain('"refreshToken":"');
      }
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await expect.poll(() => page.getByTestId('session-badge').textContent()).toBe('anonymous');
      await page.reload();
      await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
      expect(await page.getByTestId('session-badge').textContent()).toBe('anonymous');
      expect(tab.foreignRequests).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});

describeBrowser('subscriptions from the explorer (graphql-ws, same token)', () => {
  let server: BuiltServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    server = await startBuiltServer({ EXPLORER: 'graphiql', INTROSPECTION: 'true', ACCESS_TOKEN_TTL: '3s' });
    browser = await launchBrowser();
    expect((await server.gql('mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }', { u: 'dave', p: PASSWORD })).body.errors).toBeUndefined();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('runs sessionEvents over the socket, and keeps it running across token expiry', async () => {
    const probe = (await server.gql('{ __schema { subscriptionType { name } } }')).body;
    expect(probe.data?.__schema).toEqual({ subscriptionType: { name: 'Subscription' } });
    const tab = await browser.open(server.url, 'explorer-subscriptions');
    const { page } = tab;
    const sockets: string[] = [];
    // Sockets that have sent their subscribe: an event published before that would reach no one.
    let subscribed = 0;
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framesent', (frame) => {
        if (String(frame.payload).includes('"type":"subscribe"')) subscribed += 1;
      });
    });
    try {
      await openExplorer(tab, server, 'subscription Events { sessionEvents { kind session { id current } } }');
      await logIn(page, 'dave');
      await page.getByRole('button', { name: /^Execute query/ }).click();
      await expect.poll(() => sockets.length).toBeGreaterThan(0);
      await expect.poll(() => subscribed).toBeGreaterThan(0);
      expect(new URL(sockets[0]!).host).toBe(new URL(server.url).host);
      // A login elsewhere is a CREATED event on dave's feed, naming the new session.
      const loginElsewhereShows = async () => {
        const { accessToken } = await loginFromNode(server, 'dave');
        const sid = (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
        await expect.poll(async () => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, ''), { timeout: 15_000 }).toContain(sid);
      };
      await loginElsewhereShows();
      await tab.screenshot('01-event');
      // The 3-second token expires: the server closes the socket with 4403 TOKEN_EXPIRED, graphql-ws
      // asks connectionParams again, which refreshes, and the subscription resumes on a new socket.
      await waitForExpiry(page);
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBeGreaterThan(1);
      await expect.poll(() => subscribed, { timeout: 15_000 }).toBeGreaterThan(1);
      await loginElsewhereShows();
      expect(tab.graphqlRequests.filter((r) => r.operationName === 'RefreshToken').length).toBeGreaterThanOrEqual(1);
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
