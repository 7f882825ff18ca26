import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS_DIR, describeBrowser, launchBrowser, startBuiltServer, type BrowserTab, type BuiltServer, type TestBrowser } from '../helpers/browser.js';
import { serveStatic } from '../helpers/static-server.js';

/*
 * Passkeys in Chromium, end to end: the explorer's panel and the example app
 * register a passkey and sign in with it, against the production build, with
 * Chromium's own WebAuthn stack and a CDP virtual authenticator (CTAP2,
 * resident keys, user verification) standing in for the platform one.
 * WebAuthn refuses IP addresses as RP IDs, so the pages are opened on
 * `localhost` (RP ID `localhost`).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_DIST = path.join(ROOT, 'examples/web/dist');
const SHOTS = path.join(RESULTS_DIR, 'passkeys');
const PASSWORD = 'correct horse battery staple';

/** A virtual platform authenticator on `page` (CDP WebAuthn domain): discoverable credentials, UV, presence answered automatically. */
async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

async function credentialsOf(cdp: CDPSession, authenticatorId: string) {
  return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `passkeys-${name}.png`), fullPage: true });
}

async function signupFromNode(server: BuiltServer, username: string): Promise<void> {
  const body = (await server.gql('mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken } }', { u: username, p: PASSWORD })).body;
  expect(body.errors).toBeUndefined();
}

/** The user's audit trail as `myAuditEvents` answers it: `type` (and `:method` when the event names one). */
async function auditTypes(server: BuiltServer, username: string): Promise<string[]> {
  const login = (await server.gql<{ login: { accessToken: string } }>('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: username, p: PASSWORD })).body.data!.login;
  const res = await server.gql<{ myAuditEvents: { nodes: { type: string; details: Record<string, unknown> | null }[] } }>('{ myAuditEvents(first: 100) { nodes { type details } } }', {}, login.accessToken);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.myAuditEvents.nodes.map((n) => `${n.type}${typeof n.details?.method === 'string' ? `:${n.details.method}` : ''}`);
}

describeBrowser('passkeys in Chromium (CDP virtual authenticator)', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('the explorer', () => {
    let server: BuiltServer;
    let origin: string;
    let tab: BrowserTab;

    beforeAll(async () => {
      // Outside production the defaults are the contract's: RP ID localhost, origin http://localhost:<PORT>.
      server = await startBuiltServer({ NODE_ENV: 'development', EXPLORER: 'graphiql', INTROSPECTION: 'true' });
      origin = `http://localhost:${server.port}`;
      await signupFromNode(server, 'alice');
      tab = await browser.open(origin, 'passkeys');
    });
    afterAll(async () => {
      await tab?.close();
      await server?.stop();
    });

    it('adds a passkey for the signed-in user, then signs in with it without a username', async () => {
      const { page } = tab;
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      await page.goto(`${origin}/graphql`);
      await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
      await shot(page, 'explorer-1-signed-out');

      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe('alice');
      await page.getByLabel('Passkey name (optional)').fill('Explorer key');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByText('Passkey “Explorer key” added').waitFor();
      await shot(page, 'explorer-2-added');
      const held = await credentialsOf(cdp, authenticatorId);
      expect(held).toHaveLength(1);
      expect(held[0]!.isResidentCredential).toBe(true);

      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toBe('alice');
      await shot(page, 'explorer-3-signed-in-with-passkey');
      // The authenticator counted the sign-in; the server saw a fresh, UV sign-in.
      expect((await credentialsOf(cdp, authenticatorId))[0]!.signCount).toBeGreaterThan(held[0]!.signCount);
      await expect.poll(() => page.locator('.tg-facts').innerText()).toContain('yes: sensitive mutations allowed');
      expect(await auditTypes(server, 'alice')).toEqual(expect.arrayContaining(['passkey.registered', 'login.success:passkey']));
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    });
  });

  describe('the example app (header mode)', () => {
    let server: BuiltServer;
    let app: Awaited<ReturnType<typeof serveStatic>>;
    let appOrigin: string;
    let tab: BrowserTab;

    beforeAll(async () => {
      execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      app = await serveStatic(APP_DIST);
      appOrigin = `http://localhost:${new URL(app.url).port}`;
      server = await startBuiltServer({ CORS_ORIGINS: appOrigin, WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: appOrigin });
      await signupFromNode(server, 'bob');
      tab = await browser.open(appOrigin, 'passkeys', { extraOrigins: [`http://localhost:${server.port}`] });
      // Records each navigator.credentials.get call's mediation, to see the conditional (autofill) request.
      await tab.context.addInitScript(() => {
        const calls: string[] = [];
        (window as unknown as { __mediations: string[] }).__mediations = calls;
        const original = navigator.credentials.get.bind(navigator.credentials);
        navigator.credentials.get = (options?: CredentialRequestOptions) => {
          calls.push(options?.mediation ?? 'optional');
          return original(options);
        };
      });
    });
    afterAll(async () => {
      await tab?.close();
      await server?.stop();
      await app?.close();
    });

    it('lists, adds, renames and deletes passkeys, and signs in with one through conditional UI (the username field\'s autofill)', async () => {
      const { page } = tab;
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      const apiUrl = `http://localhost:${server.port}/graphql`;
      await page.goto(`${appOrigin}/?mode=header&api=${encodeURIComponent(apiUrl)}`);
      await page.getByTestId('sign-in').waitFor();
      expect(await page.getByLabel('Username').getAttribute('autocomplete')).toBe('username webauthn');
      await shot(page, 'app-0-sign-in');
      await page.getByLabel('Username').fill('bob');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByTestId('submit').click();
      await page.getByTestId('signed-in-as').getByText('Signed in as bob').waitFor();
      const card = page.getByTestId('passkeys');
      await card.getByText('No passkey yet').waitFor();

      await card.getByLabel('Name (optional)').fill('Laptop');
      await card.getByTestId('passkey-add').click();
      await card.getByTestId('passkey-message').getByText('Passkey “Laptop” added.').waitFor();
      await expect.poll(() => card.getByTestId('passkey-name').allTextContents()).toEqual(['Laptop']);
      // The same authenticator again: excluded by the server's options, refused by the browser.
      await card.getByTestId('passkey-add').click();
      await card.getByTestId('passkey-message').getByText('This device already holds a passkey for your account.').waitFor();
      expect(await credentialsOf(cdp, authenticatorId)).toHaveLength(1);

      await card.getByTestId('passkey-rename').click();
      await card.getByTestId('passkey-name-input').fill('Work laptop');
      await card.getByTestId('passkey-save').click();
      await expect.poll(() => card.getByTestId('passkey-name').allTextContents()).toEqual(['Work laptop']);
      await card.scrollIntoViewIfNeeded();
      await shot(page, 'app-1-listed');

      // Signed out, the sign-in screen starts a conditional (autofill) request for the username field; the
      // virtual authenticator answers it at once with its one passkey, as picking it in the autofill would.
      await page.evaluate(() => ((window as unknown as { __mediations: string[] }).__mediations.length = 0));
      const sentBefore = tab.graphqlRequests.length;
      await page.getByTestId('logout').click();
      await expect.poll(() => tab.graphqlRequests.slice(sentBefore).map((r) => r.operationName)).toEqual(expect.arrayContaining(['Logout', 'StartPasskeyLogin', 'FinishPasskeyLogin']));
      await page.getByTestId('signed-in-as').getByText('Signed in as bob').waitFor();
      expect(await page.evaluate(() => (window as unknown as { __mediations: string[] }).__mediations)).toEqual(['conditional']);
      const after = tab.graphqlRequests.slice(sentBefore).map((r) => r.operationName);
      expect(after.indexOf('FinishPasskeyLogin')).toBeGreaterThan(after.indexOf('Logout'));
      expect(after).not.toContain('Login');
      await expect.poll(() => card.getByTestId('passkey-name').allTextContents()).toEqual(['Work laptop']);
      await expect.poll(() => card.locator('.muted.small').first().innerText()).toContain('last used');
      await shot(page, 'app-2-signed-in-with-passkey');

      // The passkey sign-in was fresh (UV): deleting needs no new password.
      await card.getByTestId('passkey-delete').click();
      await card.getByTestId('passkey-message').getByText('Passkey deleted.').waitFor();
      await card.getByText('No passkey yet').waitFor();
      await shot(page, 'app-3-deleted');
      expect(await auditTypes(server, 'bob')).toEqual(expect.arrayContaining(['passkey.registered', 'passkey.renamed', 'login.success:passkey', 'passkey.deleted']));
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    });
  });
});
