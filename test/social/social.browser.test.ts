/**
 * Social sign-in in real Chromium, through every redirect: the explorer's
 * panel and the example app (examples/web, with the kit) against the
 * production build of tokengate (dist/main.js) and two real OpenID
 * providers (oidc-provider on loopback, in this process), their login and
 * consent pages filled in as a person would. Screenshots of each step go
 * to test-results/social/.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBrowser, launchBrowser, startBuiltServer, type BrowserTab, type BuiltServer, type TestBrowser } from '../helpers/browser.js';
import { startTestProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { serveStatic } from '../helpers/static-server.js';
import { freePort } from './social-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_DIST = path.join(ROOT, 'examples/web/dist');

describeBrowser('social sign-in in Chromium', () => {
  let browser: TestBrowser;
  let app: Awaited<ReturnType<typeof serveStatic>>;
  let server: BuiltServer;
  let alpha: TestProvider;
  let beta: TestProvider;

  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    app = await serveStatic(APP_DIST);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    alpha = await startTestProvider({ clientId: 'tg-alpha', clientSecret: 'alpha-browser-secret-0123456789', redirectUris: [`${base}/oauth/callback/alpha`], idTokenClaims: true });
    beta = await startTestProvider({ clientId: 'tg-beta', clientSecret: 'beta-browser-secret-0123456789', redirectUris: [`${base}/oauth/callback/beta`] });
    alpha.accounts.set('nina', { email: 'nina@example.com', email_verified: true, preferred_username: 'nina' });
    beta.accounts.set('nina-at-beta', { email: 'nina.b@example.com', email_verified: true });
    alpha.accounts.set('omar', { email: 'omar@example.com', email_verified: true, preferred_username: 'omar' });
    server = await startBuiltServer({
      PUBLIC_URL: base,
      EXPLORER: 'graphiql',
      INTROSPECTION: 'true',
      COOKIE_SECURE: 'false',
      CORS_ORIGINS: app.url,
      OAUTH_REDIRECT_ORIGINS: `${base},${app.url}`,
      OIDC_PROVIDERS: 'alpha,beta',
      OIDC_ALPHA_ISSUER: alpha.issuer,
      OIDC_ALPHA_CLIENT_ID: alpha.clientId,
      OIDC_ALPHA_CLIENT_SECRET: alpha.clientSecret,
      OIDC_ALPHA_LABEL: 'Alpha ID',
      OIDC_BETA_ISSUER: beta.issuer,
      OIDC_BETA_CLIENT_ID: beta.clientId,
      OIDC_BETA_CLIENT_SECRET: beta.clientSecret,
      OIDC_BETA_LABEL: 'Beta Accounts',
    }, { port });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await alpha?.stop();
    await beta?.stop();
    await app?.close();
  });

  /**
   * The page's errors, less the test provider's own: its development login
   * page asks for a web font, which the harness blocks (no request leaves
   * the machine). Those blocked requests are checked by URL instead.
   */
  function ownErrors(tab: BrowserTab): string[] {
    expect(tab.foreignRequests.filter((url) => !url.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
    // A query in flight when the page goes to the provider is cut off by the navigation, as in any app.
    return tab.consoleErrors.filter((e) => !e.includes('net::ERR_BLOCKED_BY_CLIENT') && !/^request failed: .* \(net::ERR_ABORTED\)$/.test(e));
  }

  /** At the provider: its login form (any login), then its consent form, as a person fills them in. */
  async function signInAtProvider(tab: BrowserTab, page: Page, provider: TestProvider, login: string, shot: string): Promise<void> {
    await page.waitForURL((url) => url.href.startsWith(provider.issuer));
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await tab.screenshot(shot, page);
    await page.locator('button[type="submit"]').click();
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  describe('the explorer', () => {
    it('shows a button per provider and finishes the sign-in on return', async () => {
      const tab = await browser.open(server.url, 'social', { extraOrigins: [alpha.issuer, beta.issuer] });
      const { page } = tab;
      await page.goto(`${server.url}/graphql`);
      const button = page.getByRole('button', { name: 'Continue with Alpha ID' });
      await button.waitFor();
      await expect(page.getByRole('button', { name: 'Continue with Beta Accounts' }).isVisible()).resolves.toBe(true);
      await tab.screenshot('social-explorer-1-buttons');
      await button.click();
      await signInAtProvider(tab, page, alpha, 'omar', 'social-explorer-2-provider-login');
      await page.waitForURL((url) => url.href.startsWith(`${server.url}/graphql`));
      await expect(page.getByTestId('signed-in-user').textContent()).resolves.toBe('omar');
      // The one-time code is gone from the address bar.
      expect(page.url()).not.toContain('tg_code');
      await tab.screenshot('social-explorer-3-signed-in');
      expect(ownErrors(tab)).toEqual([]);
      await tab.close();
    });
    it('says why when the provider sends the browser back with #tg_error', async () => {
      const tab = await browser.open(server.url, 'social');
      await tab.page.goto(`${server.url}/graphql#tg_error=OAUTH_FAILED&tg_reason=STATE`);
      await expect(tab.page.getByRole('alert').textContent()).resolves.toContain('OAUTH_FAILED');
      expect(tab.page.url()).not.toContain('tg_error');
      await tab.screenshot('social-explorer-4-error');
      await tab.close();
    });
  });

  describe('the example app', () => {
    it('signs in with a provider, links a second one, unlinks, and refuses to unlink the last way in', async () => {
      const tab = await browser.open(app.url, 'social', { extraOrigins: [server.url, alpha.issuer, beta.issuer] });
      const { page } = tab;
      await page.goto(`${app.url}/?mode=header&api=${encodeURIComponent(`${server.url}/graphql`)}`);
      await page.getByTestId('social-alpha').waitFor();
      await tab.screenshot('social-app-1-sign-in');
      await page.getByTestId('social-alpha').click();
      await signInAtProvider(tab, page, alpha, 'nina', 'social-app-2-provider-login');
      await page.waitForURL((url) => url.href.startsWith(app.url));
      await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe('Signed in as nina');
      expect(page.url()).not.toContain('tg_code');
      const identities = page.getByTestId('identities');
      await identities.getByTestId('unlink-alpha').waitFor();
      await expect(identities.getByTestId('identity-beta').textContent()).resolves.toContain('not linked');
      await tab.screenshot('social-app-3-signed-in');

      // Link the second provider: out to it and back, to the same account.
      await identities.getByTestId('link-beta').click();
      await signInAtProvider(tab, page, beta, 'nina-at-beta', 'social-app-4-link-provider-login');
      await page.waitForURL((url) => url.href.startsWith(app.url));
      await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe('Signed in as nina');
      await page.getByTestId('identities').getByTestId('unlink-beta').waitFor();
      await tab.screenshot('social-app-5-linked');

      // Unlink one; the other is then the last way in.
      await page.getByTestId('unlink-alpha').click();
      await page.getByTestId('link-alpha').waitFor();
      await page.getByTestId('unlink-beta').click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('last way to sign in');
      await tab.screenshot('social-app-6-last-credential');
      expect(ownErrors(tab)).toEqual([]);
      await tab.close();
    });
  });
});
