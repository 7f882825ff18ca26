import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { TestSmtpServer } from '../helpers/smtp.js';
import { AUTH_FIELDS, errorCode, login, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import {
  EMAIL_TEST_LIMITS,
  ME,
  PASSWORD,
  REQUEST_RESET,
  REQUEST_VERIFICATION,
  RESET,
  SET_EMAIL,
  VERIFY,
  extensionsOf,
  flushOutbox,
  outboxRows,
  signupWithEmail,
} from './email-helpers.js';

/*
 * The email flows end to end over HTTP, with a real SMTP server receiving
 * and parsing every mail: the link a test follows is the one the mail
 * carried. Runs on SQLite and on PostgreSQL + Redis.
 */
describe('email verification and password reset over SMTP', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  const clock = new ManualClock();
  const logs = capturingLogger();

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url, MAIL_FROM: 'tokengate <auth@example.test>', LOG_LEVEL: 'info' }, { deps: { clock, logger: logs.logger } });
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
  });

  it('signup with an address mails a verification link; the link verifies the address once', async () => {
    const payload = await signupWithEmail(server, 'vera', '  Vera.Smith@Example.TEST ');
    // The payload's user is the caller's own: its address is readable at once, trimmed, as written.
    expect(payload.user).toMatchObject({ username: 'vera', email: 'Vera.Smith@Example.TEST', emailVerified: false });
    const [mail] = await smtp.waitFor('vera.smith@example.test');
    expect(mail!.subject).toBe('Confirm your email address');
    expect(mail!.messageId).toMatch(/@example\.test>$/);
    expect(mail!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail!.html).toContain(mail!.token);
    expect(mail!.html).toContain('&quot;vera&quot;');

    // The default link opens this server's own page, which calls verifyEmail.
    const link = new URL(mail!.link);
    expect(link.pathname).toBe('/verify-email');
    const page = await fetch(`${server.url}${link.pathname}${link.search}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'nonce-[^']+'/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('verifyEmail');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);

    const verified = await server.gql(VERIFY, { t: mail!.token });
    expect(verified.body).toEqual({ data: { verifyEmail: true } });
    const me = await server.gql(ME, {}, { token: payload.accessToken });
    expect(me.body.data).toEqual({ me: { id: payload.user.id, username: 'vera', email: 'Vera.Smith@Example.TEST', emailVerified: true } });

    // Single use.
    const again = await server.gql(VERIFY, { t: mail!.token });
    expect(errorCode(again)).toBe('INVALID_EMAIL_TOKEN');
    expect(again.body.data).toBeNull();

    // Sent, and the body (which held the link) is erased.
    const rows = (await outboxRows(server)).filter((r) => r.user_id === payload.user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ text_body: null, html_body: null, attempts: 1, failed_at: null, last_error: null });
    expect(rows[0]!.sent_at).not.toBeNull();
    // Only the hash of the token is stored.
    const tokens = await server.app.db.selectFrom('email_tokens').selectAll().where('user_id', '=', payload.user.id).execute();
    expect(tokens).toHaveLength(1);
    expect(JSON.stringify(tokens)).not.toContain(mail!.token);
  });

  it('a bad, foreign-kind or expired verification token is INVALID_EMAIL_TOKEN', async () => {
    await signupWithEmail(server, 'expiring', 'expiring@example.test');
    const [mail] = await smtp.waitFor('expiring@example.test');
    for (const t of ['', 'not-a-token', 'A'.repeat(43), `${mail!.token}x`]) {
      expect(errorCode(await server.gql(VERIFY, { t }))).toBe('INVALID_EMAIL_TOKEN');
    }
    // A verification token is no reset token.
    expect(errorCode(await server.gql(RESET, { t: mail!.token, p: 'a brand new password' }))).toBe('INVALID_EMAIL_TOKEN');
    clock.advance(24 * 3600 + 1);
    expect(errorCode(await server.gql(VERIFY, { t: mail!.token }))).toBe('INVALID_EMAIL_TOKEN');
  });

  it('addresses are unique across case, at most 254 characters, and well-formed', async () => {
    await signupWithEmail(server, 'first-owner', 'Shared@Example.test');
    const taken = await server.gql(`mutation { signup(username: "second-owner", password: "${PASSWORD}", email: " shared@EXAMPLE.test ") { accessToken } }`);
    expect(extensionsOf(taken)).toEqual({ code: 'EMAIL_TAKEN' });
    // Nothing of the refused signup was written: the username is still free.
    const other = await signupWithEmail(server, 'second-owner', null);
    expect(other.user.email).toBeNull();
    const setTaken = await server.gql(SET_EMAIL, { e: 'SHARED@example.TEST' }, { token: other.accessToken });
    expect(extensionsOf(setTaken)).toEqual({ code: 'EMAIL_TAKEN' });

    for (const bad of ['no-at-sign', 'a@b', 'two@@example.test', 'with space@example.test', 'x<y>@example.test', 'a@example.test, b@example.test', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.test`, `x@${'b'.repeat(64)}.test`]) {
      const res = await server.gql(SET_EMAIL, { e: bad }, { token: other.accessToken });
      expect(extensionsOf(res), bad).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
    }
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    expect(longest).toHaveLength(254);
    expect((await server.gql(SET_EMAIL, { e: longest }, { token: other.accessToken })).body.errors).toBeUndefined();
    const badSignup = await server.gql(`mutation { signup(username: "bad-address", password: "${PASSWORD}", email: "nope") { accessToken } }`);
    expect(extensionsOf(badSignup)).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it('setEmail needs a fresh token; a new address starts unverified, voids the old links and gets its own', async () => {
    const payload = await signupWithEmail(server, 'mover', 'old-home@example.test');
    const [oldMail] = await smtp.waitFor('old-home@example.test');
    const refreshed = await server.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: payload.refreshToken });
    const stale = refreshed.body.data!.refreshToken;
    expect(errorCode(await server.gql(SET_EMAIL, { e: 'new-home@example.test' }, { token: stale.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
    expect(errorCode(await server.gql(SET_EMAIL, { e: 'new-home@example.test' }))).toBe('UNAUTHENTICATED');

    const fresh = await login(server, 'mover');
    const set = await server.gql(SET_EMAIL, { e: 'New-Home@example.test' }, { token: fresh.accessToken });
    expect(set.body.data).toEqual({ setEmail: { id: payload.user.id, email: 'New-Home@example.test', emailVerified: false } });
    const [newMail] = await smtp.waitFor('new-home@example.test');
    // The old address's link verifies nothing any more.
    expect(errorCode(await server.gql(VERIFY, { t: oldMail!.token }))).toBe('INVALID_EMAIL_TOKEN');
    expect((await server.gql(VERIFY, { t: newMail!.token })).body.data).toEqual({ verifyEmail: true });
    // me reflects the change at once, on this and every instance (cached users are replaced through the door).
    expect((await server.gql(ME, {}, { token: stale.accessToken })).body.data).toMatchObject({ me: { email: 'New-Home@example.test', emailVerified: true } });
  });

  it('requestEmailVerification sends a new link that voids the older one; false once verified', async () => {
    const payload = await signupWithEmail(server, 'resender', 'resender@example.test');
    const [first] = await smtp.waitFor('resender@example.test');
    expect((await server.gql(REQUEST_VERIFICATION, {}, { token: payload.accessToken })).body.data).toEqual({ requestEmailVerification: true });
    const [, second] = await smtp.waitFor('resender@example.test', 2);
    expect(second!.token).not.toBe(first!.token);
    expect(errorCode(await server.gql(VERIFY, { t: first!.token }))).toBe('INVALID_EMAIL_TOKEN');
    expect((await server.gql(VERIFY, { t: second!.token })).body.data).toEqual({ verifyEmail: true });
    expect((await server.gql(REQUEST_VERIFICATION, {}, { token: payload.accessToken })).body.data).toEqual({ requestEmailVerification: false });
    expect(errorCode(await server.gql(REQUEST_VERIFICATION))).toBe('UNAUTHENTICATED');
    const without = await signupWithEmail(server, 'no-address', null);
    expect(extensionsOf(await server.gql(REQUEST_VERIFICATION, {}, { token: without.accessToken }))).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it('requestPasswordReset: an unknown address gets true and no mail; a known one gets a link', async () => {
    await signupWithEmail(server, 'forgetful', 'forgetful@example.test');
    await smtp.waitFor('forgetful@example.test');
    const before = (await outboxRows(server)).length;
    expect((await server.gql(REQUEST_RESET, { e: 'nobody-here@example.test' })).body).toEqual({ data: { requestPasswordReset: true } });
    await flushOutbox(server);
    expect(smtp.mailsTo('nobody-here@example.test')).toHaveLength(0);
    // The unknown address's decoy write leaves nothing behind.
    expect(await outboxRows(server)).toHaveLength(before);
    expect(await server.app.outbox!.queueDepth()).toBe(0);

    expect((await server.gql(REQUEST_RESET, { e: ' FORGETFUL@example.test' })).body).toEqual({ data: { requestPasswordReset: true } });
    const mails = await smtp.waitFor('forgetful@example.test', 2);
    expect(mails[1]!.subject).toBe('Reset your password');
    expect(new URL(mails[1]!.link).pathname).toBe('/reset-password');
    const page = await fetch(`${server.url}/reset-password?token=${mails[1]!.token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('resetPassword');
  });

  it('resetPassword sets the password, ends every session, marks the address verified, and works once', async () => {
    const payload = await signupWithEmail(server, 'locked-out', 'locked-out@example.test', 'the password I forgot');
    await smtp.waitFor('locked-out@example.test');
    const second = await login(server, 'locked-out', 'the password I forgot');
    await server.gql(REQUEST_RESET, { e: 'locked-out@example.test' });
    const [, mail] = await smtp.waitFor('locked-out@example.test', 2);

    // Password rules apply, and a refused password does not use the link up.
    expect(extensionsOf(await server.gql(RESET, { t: mail!.token, p: 'short' }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
    expect(extensionsOf(await server.gql(RESET, { t: mail!.token, p: 'x'.repeat(257) }))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });

    expect((await server.gql(RESET, { t: mail!.token, p: 'a brand new password' })).body).toEqual({ data: { resetPassword: true } });
    for (const pair of [payload, second]) {
      expect(extensionsOf(await server.gql(ME, {}, { token: pair.accessToken }))).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
      const refresh = await server.gql(`mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, { t: pair.refreshToken });
      expect(errorCode(refresh)).toBe('INVALID_REFRESH_TOKEN');
    }
    const ended = await server.app.db.selectFrom('sessions').select('end_reason').where('user_id', '=', payload.user.id).execute();
    expect(ended.map((s) => s.end_reason)).toEqual(['password_reset', 'password_reset']);
    expect(errorCode(await server.gql(`mutation { login(username: "locked-out", password: "the password I forgot") { accessToken } }`))).toBe('INVALID_CREDENTIALS');
    const fresh = await login(server, 'locked-out', 'a brand new password');
    expect((await server.gql(ME, {}, { token: fresh.accessToken })).body.data).toMatchObject({ me: { emailVerified: true } });
    expect(errorCode(await server.gql(RESET, { t: mail!.token, p: 'yet another password' }))).toBe('INVALID_EMAIL_TOKEN');
  });

  it('a new reset link voids the older ones; reset links live one hour', async () => {
    await signupWithEmail(server, 'twice', 'twice@example.test');
    await smtp.waitFor('twice@example.test');
    await server.gql(REQUEST_RESET, { e: 'twice@example.test' });
    await server.gql(REQUEST_RESET, { e: 'twice@example.test' });
    const [, older, newer] = await smtp.waitFor('twice@example.test', 3);
    expect(errorCode(await server.gql(RESET, { t: older!.token, p: 'a brand new password' }))).toBe('INVALID_EMAIL_TOKEN');
    clock.advance(3600 + 1);
    expect(errorCode(await server.gql(RESET, { t: newer!.token, p: 'a brand new password' }))).toBe('INVALID_EMAIL_TOKEN');
    // Expired links changed nothing: the old password still works.
    await login(server, 'twice');
  });

  it('the address is readable by its user and ADMIN only', async () => {
    const ann = await signupWithEmail(server, 'private-ann', 'private-ann@example.test');
    const anonymous = await server.gql(`mutation { login(username: "private-ann", password: "${PASSWORD}") { user { email } } }`);
    // The payload's user is the one who just proved the password.
    expect(anonymous.body.data).toEqual({ login: { user: { email: 'private-ann@example.test' } } });
    const denied = await server.gql(`query ($id: ID!) { user(id: $id) { email } }`, { id: ann.user.id }, { token: ann.accessToken });
    expect(errorCode(denied)).toBe('FORBIDDEN');
  });

  it('logs every mail event, and never a token or a mail body', async () => {
    const all = logs.lines.join('\n');
    for (const mail of smtp.received) {
      expect(all).not.toContain(mail.token);
      expect(all).not.toContain(mail.to);
    }
    const events = new Set(logs.entries().map((e) => e.event));
    for (const event of ['mail.sent', 'email.verified', 'email.set', 'email.reset_requested', 'email.reset_unknown_address', 'auth.password_reset']) {
      expect(events, event).toContain(event);
    }
  });
});
