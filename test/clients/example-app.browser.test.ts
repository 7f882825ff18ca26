/**
 * The example app (examples/web, built with the kit) in real Chromium against
 * the production build of tokengate (dist/main.js, SQLite, 3 s access tokens
 * so refresh really happens), in header mode and in cookie mode.
 *
 * Proves: the whole flow (sign up, me, 10 parallel queries after expiry
 * causing exactly one refreshToken, change password asking for the password
 * again when the token is not fresh, sessions with revoke, log out, log out
 * everywhere); two tabs refreshing at the same moment with one refresh between
 * them; sign-out in one tab signing out the other; a reload restoring the
 * session (cookie mode: from the HttpOnly cookie alone); a forged
 * cross-origin request without the CSRF header refused. Screenshots of each
 * step go to test-results/example-app/.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS_DIR, describeBrowser, launchBrowser, startBuiltServer, type BrowserTab, type BuiltServer, type TestBrowser } from '../helpers/browser.js';
import { serveStatic } from '../helpers/static-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_DIST = path.join(ROOT, 'examples/web/dist');
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'another long passphrase';
const SCREENSHOTS = path.join(RESULTS_DIR, 'example-app');

/** One POST to tokengate's /graphql, as the browser sent it. */
interface ApiCall {
  readonly page: Page | null;
  readonly operationName: string;
  readonly csrf: string | undefined;
  readonly variables: Record<string, unknown>;
}

describeBrowser('the example app in Chromium', () => {
  let browser: TestBrowser;
  let app: Awaited<ReturnType<typeof serveStatic>>;
  let evil: Awaited<ReturnType<typeof serveStatic>>;
  const started = Date.now();

  beforeAll(async () => {
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    // What the tests need: the server's dist/ (fresh-build.ts, the global setup, sees to it), the kit and the example app, built here.
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    app = await serveStatic(APP_DIST);
    // Another origin on the same host: the strongest forger, since SameSite=Strict cookies still go to a same-site request.
    evil = await serveStatic(APP_DIST, { '/': '<!doctype html><title>a forged page</title><p>nothing to see</p>' });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await evil?.close();
    console.log(`browser tests of the example app took ${((Date.now() - started) / 1000).toFixed(1)} s (builds included)`);
  });

  for (const mode of ['header', 'cookie'] as const) {
    describe(`${mode} mode`, () => {
      let server: BuiltServer;
      let tab: BrowserTab;
      let context: BrowserContext;
      const calls: ApiCall[] = [];
      /** Every request URL of the app's own pages (the forged page lives in a tab of its own). */
      const requests: string[] = [];
      let shot = 0;
      const snap = (page: Page, name: string) => tab.screenshot(`example-${mode}-${String(++shot).padStart(2, '0')}-${name}`, page);
      const refreshes = () => calls.filter((c) => c.operationName === 'RefreshToken').length;
      const appUrl = () => `${app.url}/?mode=${mode}&api=${encodeURIComponent(`${server.url}/graphql`)}`;

      /** The first call takes the tab's own (blank) page; later ones open another page in the same context. */
      let blank = true;
      async function openTab(): Promise<Page> {
        const page = blank ? tab.page : await tab.newPage();
        blank = false;
        await page.goto(appUrl());
        return page;
      }

      /** Waits until the app itself sees its access token as expired (the server checks `exp` with no leeway). */
      async function untilExpired(page: Page): Promise<void> {
        await page.getByTestId('token-clock').getByText('Access token expired').waitFor({ timeout: 10_000 });
      }

      beforeAll(async () => {
        server = await startBuiltServer({
          ACCESS_TOKEN_TTL: '3s',
          CORS_ORIGINS: app.url,
          REFRESH_TOKEN_COOKIE: mode === 'cookie' ? 'true' : 'false',
          COOKIE_SECURE: 'false',
        });
        // Requests to any origin but the app's and the API's are recorded (tab.foreignRequests) and aborted.
        tab = await browser.open(app.url, 'example-app', { extraOrigins: [server.url] });
        context = tab.context;
        context.on('request', (request: Request) => {
          requests.push(request.url());
          if (request.method() !== 'POST' || !request.url().startsWith(`${server.url}/graphql`)) return;
          const body = request.postDataJSON() as { operationName?: string; variables?: Record<string, unknown> } | null;
          calls.push({ page: request.frame().page(), operationName: body?.operationName ?? '', csrf: request.headers()['x-csrf-token'], variables: body?.variables ?? {} });
        });
      });

      afterAll(async () => {
        await tab?.close();
        await server?.stop();
      });

      const username = `web_${mode}`;

      it('signs up, shows me, and 10 parallel queries after expiry cause exactly one refreshToken', async () => {
        const page = await openTab();
        await page.getByTestId('sign-in').waitFor();
        await snap(page, 'sign-in');
        await page.getByRole('button', { name: 'Sign up' }).click();
        await page.locator('input[name=username]').fill(username);
        await page.locator('input[name=password]').fill(PASSWORD);
        await page.getByTestId('submit').click();
        await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(`Signed in as ${username}`);
        await expect.poll(() => page.getByTestId('me-username').textContent()).toBe(username);
        await snap(page, 'signed-in');
        if (mode === 'cookie') {
          const signup = calls.find((c) => c.operationName === 'Signup')!;
          expect(signup).toBeDefined();
          const cookies = await context.cookies(`${server.url}/graphql`);
          expect(cookies.find((c) => c.name === 'tg_refresh')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/graphql' });
          // Script sees tg_csrf and never tg_refresh.
          const visible = await page.evaluate(() => document.cookie);
          expect(visible).toMatch(/tg_csrf=/);
          expect(visible).not.toMatch(/tg_refresh/);
          expect(await page.evaluate(() => JSON.stringify(sessionStorage))).not.toMatch(/refresh/i);
        } else {
          expect(await page.evaluate(() => sessionStorage.getItem('tokengate.refreshToken'))).toMatch(/^[A-Za-z0-9_-]{43}$/);
        }

        await untilExpired(page);
        const before = refreshes();
        await page.getByTestId('parallel-run').click();
        await expect.poll(() => page.getByTestId('parallel-result').textContent()).toBe('10 of 10 answered');
        expect(refreshes() - before).toBe(1);
        expect(calls.filter((c) => c.operationName === 'Protected')).toHaveLength(20);
        await snap(page, 'ten-queries-one-refresh');
      });

      it('two tabs refreshing at the same moment both stay signed in, with one refresh between them', async () => {
        const [first] = context.pages();
        const second = await openTab();
        await expect.poll(() => second.getByTestId('signed-in-as').textContent()).toBe(`Signed in as ${username}`);
        await untilExpired(first!);
        await untilExpired(second);
        const before = refreshes();
        await Promise.all([first!.getByTestId('parallel-run').click(), second.getByTestId('parallel-run').click()]);
        await expect.poll(() => first!.getByTestId('parallel-result').textContent()).toBe('10 of 10 answered');
        await expect.poll(() => second.getByTestId('parallel-result').textContent()).toBe('10 of 10 answered');
        expect(refreshes() - before).toBe(1);
        await snap(first!, 'two-tabs-first');
        await snap(second, 'two-tabs-second');
      });

      it('change password asks for the password again when the token is not fresh', async () => {
        const [page, other] = context.pages();
        // The token came from a refresh: not fresh.
        const before = calls.length;
        await page!.locator('input[name=current]').fill(PASSWORD);
        await page!.locator('input[name=new]').fill(NEW_PASSWORD);
        await page!.getByTestId('change-submit').click();
        await page!.getByTestId('confirm-password').waitFor();
        await snap(page!, 'change-password-confirm');
        await page!.locator('input[name=again]').fill(PASSWORD);
        await page!.getByTestId('confirm-submit').click();
        await expect.poll(() => page!.getByTestId('change-message').textContent()).toBe('Password changed. Your other sessions were signed out.');
        // Refused as not fresh, then the password again (a login), then the change.
        const ops = calls.slice(before).map((c) => c.operationName);
        expect(ops.indexOf('Login')).toBeGreaterThan(ops.indexOf('ChangePassword'));
        expect(ops.lastIndexOf('ChangePassword')).toBeGreaterThan(ops.indexOf('Login'));
        // The other tab got the new tokens and stays signed in.
        await other!.getByTestId('me-reload').click();
        await expect.poll(() => other!.getByTestId('me-username').textContent()).toBe(username);
        await page!.getByTestId('sessions-reload').click();
        await expect.poll(() => page!.getByTestId('session').count()).toBe(1);
        await snap(page!, 'password-changed');
      });

      it('sign-out in one tab signs out the other', async () => {
        const [page, other] = context.pages();
        await page!.getByTestId('logout').click();
        await page!.getByTestId('sign-in').waitFor();
        await other!.getByTestId('sign-in').waitFor();
        await expect.poll(() => other!.getByTestId('signed-out-notice').textContent()).toBe('You signed out in another tab.');
        await snap(other!, 'other-tab-signed-out');
        await other!.close();
        if (mode === 'cookie') expect((await context.cookies(`${server.url}/graphql`)).filter((c) => c.name.startsWith('tg_'))).toEqual([]);
      });

      it('a reload restores the session' + (mode === 'cookie' ? ' from the HttpOnly cookie' : ' from sessionStorage'), async () => {
        const [page] = context.pages();
        await page!.locator('input[name=username]').fill(username);
        await page!.locator('input[name=password]').fill(NEW_PASSWORD);
        await page!.getByTestId('submit').click();
        await page!.getByTestId('signed-in-as').waitFor();
        const before = refreshes();
        await page!.reload();
        await expect.poll(() => page!.getByTestId('signed-in-as').textContent()).toBe(`Signed in as ${username}`);
        await expect.poll(() => page!.getByTestId('me-username').textContent()).toBe(username);
        expect(refreshes() - before).toBe(1);
        const restore = calls.filter((c) => c.operationName === 'RefreshToken').at(-1)!;
        if (mode === 'cookie') {
          expect(restore.variables).toEqual({});
          expect(restore.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
        } else {
          expect(restore.variables.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
        }
        await snap(page!, 'restored-after-reload');
      });

      it('lists my sessions and revokes another one', async () => {
        const [page] = context.pages();
        const other = await server.gql('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: username, p: NEW_PASSWORD });
        expect(other.body.errors).toBeUndefined();
        await page!.getByTestId('sessions-reload').click();
        await expect.poll(() => page!.getByTestId('session').count()).toBe(2);
        await snap(page!, 'sessions');
        await page!.getByTestId('revoke').click();
        await expect.poll(() => page!.getByTestId('session').count()).toBe(1);
      });

      if (mode === 'cookie') {
        it('a forged cross-origin request without the CSRF header is refused, and uses nothing up', async () => {
          const [page] = context.pages();
          const api = `${server.url}/graphql`;
          // The forger's page in a tab of its own (its requests do not count as the app's), holding the same
          // browser's cookies: tg_refresh and tg_csrf, HttpOnly and SameSite=Strict as the server set them.
          const forged = await browser.open(evil.url, 'example-app', { extraOrigins: [server.url] });
          await forged.context.addCookies(await context.cookies());
          expect((await forged.context.cookies(api)).map((c) => c.name).sort()).toEqual(['tg_csrf', 'tg_refresh']);
          const forgedPage = forged.page;
          await forgedPage.goto(`${evil.url}/`);
          const body = JSON.stringify({ operationName: 'RefreshToken', query: 'mutation RefreshToken { refreshToken { accessToken } }' });
          // A JSON request needs a preflight, which tokengate refuses for an origin it does not list.
          const json = await forgedPage.evaluate(
            async ({ api, body }) => fetch(api, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body }).then(() => 'sent', (e: Error) => `blocked: ${e.name}`),
            { api, body },
          );
          expect(json).toBe('blocked: TypeError');
          // A simple (no-preflight) request carries the same-site cookies, but no X-CSRF-Token: refused.
          const simple = await forgedPage.evaluate(
            async ({ api, body }) => fetch(api, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body }).then((r) => r.type),
            { api, body },
          );
          expect(simple).toBe('opaque');
          expect(forged.foreignRequests).toEqual([]);
          await forged.close();
          // Even from the app's own (allowed) origin, the cookie alone is not enough.
          const fromApp = await page!.evaluate(
            async ({ api, body }) => {
              const response = await fetch(api, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body });
              return (await response.json()) as { data: unknown; errors?: Array<{ extensions: Record<string, unknown> }> };
            },
            { api, body },
          );
          expect(fromApp.data).toBeNull();
          expect(fromApp.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'CSRF' });
          // Nothing was used up: a reload still restores the session from the cookie.
          await page!.reload();
          await expect.poll(() => page!.getByTestId('me-username').textContent()).toBe(username);
        });
      }

      it('log out everywhere ends every session and signs out', async () => {
        const [page] = context.pages();
        await page!.getByTestId('logout-all').click();
        await page!.getByTestId('sign-in').waitFor();
        await snap(page!, 'logged-out-everywhere');
        const stillThere = await server.gql('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: username, p: NEW_PASSWORD });
        const token = (stillThere.body.data as { login: { accessToken: string } }).login.accessToken;
        const sessions = await server.gql<{ mySessions: unknown[] }>('{ mySessions { id } }', {}, token);
        expect(sessions.body.data?.mySessions).toHaveLength(1);
        if (mode === 'cookie') expect((await context.cookies(`${server.url}/graphql`)).filter((c) => c.name.startsWith('tg_'))).toEqual([]);
        await page!.reload();
        await page!.getByTestId('sign-in').waitFor();
      });

      it('no console errors, and no request left the app and the API', () => {
        // Tabs here close and reload on purpose, which aborts a request still in flight (net::ERR_ABORTED);
        // any other failed load, console error or uncaught exception fails.
        expect(tab.consoleErrors.filter((e) => !/^request failed: .* \(net::ERR_ABORTED\)$/.test(e))).toEqual([]);
        expect(tab.foreignRequests).toEqual([]);
        expect(requests.length).toBeGreaterThan(0);
        for (const url of requests) expect(url.startsWith(app.url) || url.startsWith(server.url) || url.startsWith('data:')).toBe(true);
      });
    });
  }
});
