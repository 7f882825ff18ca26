import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, launchBrowser, type BrowserTab, type TestBrowser } from '../helpers/browser.js';
import { TestSmtpServer } from '../helpers/smtp.js';
import { errorCode, login, startServer, type TestServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, ME, REQUEST_RESET, signupWithEmail } from './email-helpers.js';

/*
 * The two pages the mail links open, in a real (headless) Chromium: under
 * their strict CSP their inline code runs, hides the token from the address
 * bar and completes the flow by calling the mutation on the same origin.
 * Nothing leaves the origin; screenshots go to test-results/email-pages/.
 */
describeBrowser('the email link pages in Chromium', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.stop();
  });
  /** The mail's link, pointed at this test server (the default PUBLIC_URL names port 4000). */
  const onServer = (link: string) => {
    const url = new URL(link);
    return `${server.url}${url.pathname}${url.search}`;
  };
  /** A fresh tab (own cookies) on the mail's link, loaded. */
  const openLink = async (link: string): Promise<BrowserTab> => {
    const tab = await browser.open(server.url, 'email-pages');
    const response = await tab.page.goto(onServer(link));
    expect(response?.status()).toBe(200);
    return tab;
  };

  it('/verify-email confirms the address when the user clicks', async () => {
    const user = await signupWithEmail(server, 'browser-user', 'browser-user@example.test');
    const [mail] = await smtp.waitFor('browser-user@example.test');
    const tab = await openLink(mail!.link);
    const { page } = tab;
    expect(await page.evaluate(() => location.search)).toBe('');
    // Opening the page used nothing up: a mail scanner fetching the link verifies nothing.
    expect((await server.gql(ME, {}, { token: user.accessToken })).body.data).toMatchObject({ me: { emailVerified: false } });
    await page.locator('#go').click();
    await page.locator('#status.ok').waitFor();
    expect(await page.locator('#status').textContent()).toContain('confirmed');
    expect((await server.gql(ME, {}, { token: user.accessToken })).body.data).toMatchObject({ me: { emailVerified: true } });
    await tab.screenshot('01-verify-confirmed');
    expect(tab.foreignRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
    await tab.close();

    // The same link again: the page shows the contract's refusal.
    const again = await openLink(mail!.link);
    await again.page.locator('#go').click();
    await again.page.locator('#status.error').waitFor();
    expect(await again.page.locator('#status').textContent()).toContain('not valid');
    await again.screenshot('02-verify-used-link');
    expect(again.foreignRequests).toEqual([]);
    expect(again.consoleErrors).toEqual([]);
    await again.close();
  });

  it('/reset-password sets the new password from the form', async () => {
    const user = await signupWithEmail(server, 'browser-reset', 'browser-reset@example.test');
    await server.gql(REQUEST_RESET, { e: 'browser-reset@example.test' });
    const [, mail] = await smtp.waitFor('browser-reset@example.test', 2);
    const tab = await openLink(mail!.link);
    const { page } = tab;
    expect(await page.evaluate(() => location.search)).toBe('');
    await page.locator('#password').fill('typed in a browser');
    await page.locator('#confirm').fill('typed in a browser');
    await page.locator('#go').click();
    await page.locator('#status.ok').waitFor();
    await tab.screenshot('03-reset-done');
    expect(tab.foreignRequests).toEqual([]);
    expect(tab.consoleErrors).toEqual([]);
    await tab.close();
    expect(errorCode(await server.gql(ME, {}, { token: user.accessToken }))).toBe('UNAUTHENTICATED');
    await login(server, 'browser-reset', 'typed in a browser');
  });
});
