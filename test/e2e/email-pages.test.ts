import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, haveChromium } from '../helpers/chromium.js';
import { TestSmtpServer } from '../helpers/smtp.js';
import { errorCode, login, startServer, type TestServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, ME, REQUEST_RESET, signupWithEmail } from '../integration/email/email-helpers.js';

/*
 * The two pages the mail links open, in a real (headless) Chromium: under
 * their strict CSP their inline code runs, hides the token from the address
 * bar and completes the flow by calling the mutation on the same origin.
 */
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!haveChromium() && !ci) console.warn('*** SKIPPING the email page browser tests: /usr/bin/chromium is not installed (apt-get install chromium)');

describe.skipIf(!haveChromium() && !ci)('the email link pages in Chromium', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url });
    browser = Browser.launch();
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

  it('/verify-email confirms the address when the user clicks', async () => {
    const user = await signupWithEmail(server, 'browser-user', 'browser-user@example.test');
    const [mail] = await smtp.waitFor('browser-user@example.test');
    const page = await browser.open(onServer(mail!.link));
    expect(await page.evaluate('location.search')).toBe('');
    // Opening the page used nothing up: a mail scanner fetching the link verifies nothing.
    expect((await server.gql(ME, {}, { token: user.accessToken })).body.data).toMatchObject({ me: { emailVerified: false } });
    await page.evaluate('document.getElementById("go").click()');
    await page.waitFor('document.getElementById("status").className === "ok"');
    expect(await page.evaluate('document.getElementById("status").textContent')).toContain('confirmed');
    expect((await server.gql(ME, {}, { token: user.accessToken })).body.data).toMatchObject({ me: { emailVerified: true } });

    // The same link again: the page shows the contract's refusal.
    const again = await browser.open(onServer(mail!.link));
    await again.evaluate('document.getElementById("go").click()');
    await again.waitFor('document.getElementById("status").className === "error"');
    expect(await again.evaluate('document.getElementById("status").textContent')).toContain('not valid');
  });

  it('/reset-password sets the new password from the form', async () => {
    const user = await signupWithEmail(server, 'browser-reset', 'browser-reset@example.test');
    await server.gql(REQUEST_RESET, { e: 'browser-reset@example.test' });
    const [, mail] = await smtp.waitFor('browser-reset@example.test', 2);
    const page = await browser.open(onServer(mail!.link));
    await page.evaluate(`(() => {
      document.getElementById('password').value = 'typed in a browser';
      document.getElementById('confirm').value = 'typed in a browser';
      document.getElementById('form').requestSubmit();
    })()`);
    await page.waitFor('document.getElementById("status").className === "ok"');
    expect(errorCode(await server.gql(ME, {}, { token: user.accessToken }))).toBe('UNAUTHENTICATED');
    await login(server, 'browser-reset', 'typed in a browser');
  });
});
