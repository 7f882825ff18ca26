import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../helpers/logs.js';
import { startServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, ME, REQUEST_RESET, REQUEST_VERIFICATION, SET_EMAIL, VERIFY, extensionsOf, flushOutbox, outboxRows, signupWithEmail } from './email-helpers.js';

/*
 * Without SMTP_URL: outside production, mail becomes .eml files and a log
 * line that says where (without the link); in production, one warning at
 * start-up, addresses are stored unverified, and the flows that need mail
 * answer FORBIDDEN / EMAIL_DISABLED.
 */
describe('mail without SMTP_URL', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('outside production: each mail is an .eml file in the outbox folder, and the log says where, never the link', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-eml-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const logs = capturingLogger();
    const server = await startServer({ ...EMAIL_TEST_LIMITS, MAIL_OUTBOX_DIR: dir, LOG_LEVEL: 'info' }, { deps: { logger: logs.logger } });
    cleanup.push(() => server.stop());
    const user = await signupWithEmail(server, 'developer', 'developer@example.test');
    await flushOutbox(server);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f-]{36}\.eml$/);
    const eml = await simpleParser(readFileSync(path.join(dir, files[0]!)));
    expect(eml.to).toMatchObject({ text: 'developer@example.test' });
    expect(eml.subject).toBe('Confirm your email address');
    expect(eml.html).toContain('Confirm my address');
    const token = /token=([A-Za-z0-9_-]{43})/.exec(eml.text ?? '')![1]!;
    const written = logs.entries().filter((e) => e.event === 'mail.written');
    expect(written).toHaveLength(1);
    expect(written[0]!.file).toBe(path.join(dir, files[0]!));
    expect(logs.lines.join('\n')).not.toContain(token);
    expect((await server.gql(VERIFY, { t: token })).body.data).toEqual({ verifyEmail: true });
    expect((await server.gql(ME, {}, { token: user.accessToken })).body.data).toMatchObject({ me: { emailVerified: true } });
    expect((await outboxRows(server))[0]).toMatchObject({ text_body: null, html_body: null });
  });

  it('in production: one warning at start-up, addresses stored unverified, reset and verification requests refused with EMAIL_DISABLED', async () => {
    const logs = capturingLogger();
    const server = await startServer({ ...EMAIL_TEST_LIMITS, NODE_ENV: 'production', LOG_LEVEL: 'info' }, { deps: { logger: logs.logger } });
    cleanup.push(() => server.stop());
    const warnings = logs.entries().filter((e) => e.event === 'mail.disabled');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(server.app.outbox).toBeNull();

    const user = await signupWithEmail(server, 'production-user', 'prod@example.test');
    expect(user.user).toMatchObject({ email: 'prod@example.test', emailVerified: false });
    expect(extensionsOf(await server.gql(REQUEST_RESET, { e: 'prod@example.test' }))).toEqual({ code: 'FORBIDDEN', reason: 'EMAIL_DISABLED' });
    expect(extensionsOf(await server.gql(REQUEST_VERIFICATION, {}, { token: user.accessToken }))).toEqual({ code: 'FORBIDDEN', reason: 'EMAIL_DISABLED' });
    const moved = await server.gql(SET_EMAIL, { e: 'prod-2@example.test' }, { token: user.accessToken });
    expect(moved.body.data).toMatchObject({ setEmail: { email: 'prod-2@example.test', emailVerified: false } });
    expect(await outboxRows(server)).toHaveLength(0);
    expect(await server.app.db.selectFrom('email_tokens').selectAll().execute()).toHaveLength(0);
  });
});
