import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSmtpServer } from '../helpers/smtp.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, REQUEST_RESET, REQUEST_VERIFICATION, RESET, VERIFY, extensionsOf, flushOutbox, signupWithEmail } from './email-helpers.js';

/*
 * The contract's limits, made small: mails per recipient address (silent
 * beyond: the call still answers true and sends nothing), and
 * requestPasswordReset calls per client address (RATE_LIMITED beyond). A call
 * refused or silenced by a limit voids no earlier link.
 */
describe('email limits', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url, RATE_LIMIT_MAIL_RECIPIENT: '3/1h', RATE_LIMIT_RESET_ADDRESS: '6/1h' });
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
  });
  const tokenCount = async (userId: string) =>
    (await server.app.db.selectFrom('email_tokens').select('token_hash').where('user_id', '=', userId).execute()).length;

  it('beyond 3 mails per address, reset requests answer true, send nothing and void no earlier link', async () => {
    const user = await signupWithEmail(server, 'popular', 'popular@example.test'); // mail 1 of 3
    for (const spelling of ['popular@example.test', 'POPULAR@example.test']) {
      expect((await server.gql(REQUEST_RESET, { e: spelling })).body).toEqual({ data: { requestPasswordReset: true } });
    }
    const mails = await smtp.waitFor('popular@example.test', 3);
    const tokensBefore = await tokenCount(user.user.id);

    expect((await server.gql(REQUEST_RESET, { e: 'Popular@Example.test' })).body).toEqual({ data: { requestPasswordReset: true } });
    await flushOutbox(server);
    expect(smtp.mailsTo('popular@example.test')).toHaveLength(3);
    expect(await tokenCount(user.user.id)).toBe(tokensBefore);
    // The newest link sent still works.
    expect((await server.gql(RESET, { t: mails[2]!.token, p: 'a brand new password' })).body.data).toEqual({ resetPassword: true });
  });

  it('verification mails share the budget of the address, silently too', async () => {
    const user = await signupWithEmail(server, 'eager', 'eager@example.test'); // 1
    for (let i = 0; i < 2; i++) expect((await server.gql(REQUEST_VERIFICATION, {}, { token: user.accessToken })).body.data).toEqual({ requestEmailVerification: true });
    const mails = await smtp.waitFor('eager@example.test', 3);
    expect((await server.gql(REQUEST_VERIFICATION, {}, { token: user.accessToken })).body.data).toEqual({ requestEmailVerification: true });
    await flushOutbox(server);
    expect(smtp.mailsTo('eager@example.test')).toHaveLength(3);
    expect((await server.gql(VERIFY, { t: mails[2]!.token })).body.data).toEqual({ verifyEmail: true });
  });

  it('beyond 6 requestPasswordReset calls per client address: RATE_LIMITED with retryAfter, and nothing changes', async () => {
    // This file has made 3 calls so far; 3 more are allowed.
    for (let i = 0; i < 3; i++) expect((await server.gql(REQUEST_RESET, { e: `stranger-${i}@example.test` })).body.data).toEqual({ requestPasswordReset: true });
    const limited = await server.gql(REQUEST_RESET, { e: 'popular@example.test' });
    expect(limited.body.data).toBeNull();
    const extensions = extensionsOf(limited)!;
    expect(extensions.code).toBe('RATE_LIMITED');
    expect(extensions.retryAfter).toBeGreaterThan(0);
    // The refused call wrote nothing: no new link, no mail.
    await flushOutbox(server);
    expect(smtp.mailsTo('popular@example.test')).toHaveLength(3);
  });
});
