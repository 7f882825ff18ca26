import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, launchBrowser, startBuiltServer, type BuiltServer, type TestBrowser } from '../helpers/browser.js';

/*
 * The explorer's share of issue 23 in Chromium (production build with
 * AUTH_TRACE=true): the docs name each root field's API key scope, and the
 * Authorization trace panel lists the last answer's decisions.
 */
describeBrowser('the explorer shows API key scopes and the authorization trace', () => {
  let server: BuiltServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    server = await startBuiltServer({ EXPLORER: 'graphiql', INTROSPECTION: 'true', AUTH_TRACE: 'true' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists the decisions of the last answer, and each field’s scope in the docs', async () => {
    const tab = await browser.open(server.url, 'api-keys');
    const { page } = tab;
    try {
      const schema = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('IntrospectionQuery'));
      await page.goto(`${server.url}/graphql?query=${encodeURIComponent('{ me { id } user(id: "x") { id } }')}`);
      await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
      await schema;
      await page.locator('.graphiql-spinner').first().waitFor({ state: 'hidden' });
      await page.getByRole('button', { name: /Show Authorization trace/ }).click();
      const panel = page.locator('.tg-trace');
      await expect.poll(() => panel.innerText()).toContain('Run an operation');
      await page.getByRole('button', { name: /^Execute query/ }).click();
      await expect.poll(() => panel.innerText()).toContain('@hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ)');
      const rows = await panel.locator('tbody tr').allInnerTexts();
      expect(rows.map((r) => r.replace(/\s+/g, ' ').trim()).sort()).toEqual([
        'me @signedIn @apiKey(scope: PROFILE) denied: MISSING_TOKEN',
        'user @hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ) denied: MISSING_TOKEN',
      ]);
      await tab.screenshot('trace-panel');

      await page.getByRole('button', { name: /Show Documentation Explorer/ }).click();
      await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).click();
      const docs = page.locator('.graphiql-doc-explorer');
      await expect.poll(() => docs.innerText()).toContain('mySessions');
      const text = await docs.innerText();
      expect(text).toMatch(/Requires:\s*signed in · API key scope PROFILE/);
      expect(text).toMatch(/Requires:\s*signed in · role ADMIN · API key scope ADMIN_READ/);
      expect(tab.foreignRequests).toEqual([]);
      expect(tab.consoleErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
