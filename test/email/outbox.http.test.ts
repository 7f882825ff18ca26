import { afterEach, describe, expect, it } from 'vitest';
import { createStorage, type Storage } from '../helpers/backend.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { TestSmtpServer } from '../helpers/smtp.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { EMAIL_TEST_LIMITS, REQUEST_RESET, RESET, flushOutbox, outboxRows, signupWithEmail } from './email-helpers.js';

/*
 * The durable outbox: an SMTP outage delays mail and loses none, a restart
 * loses none, a mail that cannot be delivered is given up after a bounded
 * number of tries with an error line, and no body outlives its mail.
 */
describe('the mail outbox', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  async function setUp(env: Record<string, string> = {}, storage?: Storage) {
    const smtp = await TestSmtpServer.start();
    cleanup.push(() => smtp.stop());
    const clock = new ManualClock();
    const logs = capturingLogger();
    const server = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url, LOG_LEVEL: 'info', ...env }, { deps: { clock, logger: logs.logger }, ...(storage ? { storage } : {}) });
    cleanup.push(() => server.stop());
    return { smtp, clock, logs, server };
  }
  const pending = async (server: TestServer) => (await outboxRows(server)).filter((r) => r.sent_at === null && r.failed_at === null);

  it('an SMTP outage delays a reset mail and loses none; it goes out once the server is back', async () => {
    const { smtp, clock, server } = await setUp();
    await signupWithEmail(server, 'patient', 'patient@example.test');
    await smtp.waitFor('patient@example.test');

    await smtp.stop();
    const asked = await server.gql(REQUEST_RESET, { e: 'patient@example.test' });
    // The call answers without waiting for SMTP (the mail is only queued).
    expect(asked.body).toEqual({ data: { requestPasswordReset: true } });
    await flushOutbox(server);
    let [row] = await pending(server);
    expect(row).toMatchObject({ attempts: 1, kind: 'reset_password' });
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    expect(row!.text_body).not.toBeNull();
    // Not due yet: a pass before the backoff sends nothing.
    await smtp.resume();
    await flushOutbox(server);
    expect(smtp.mailsTo('patient@example.test')).toHaveLength(1);
    await smtp.stop();

    // Still down at the first retry (30 s): the second waits twice as long.
    clock.advance(30);
    await flushOutbox(server);
    [row] = await pending(server);
    expect(row).toMatchObject({ attempts: 2 });
    expect(new Date(row!.next_attempt_at).getTime() - clock.now()).toBe(60_000);

    await smtp.resume();
    clock.advance(60);
    await flushOutbox(server);
    const [, mail] = await smtp.waitFor('patient@example.test', 2);
    expect(mail!.subject).toBe('Reset your password');
    expect(await pending(server)).toHaveLength(0);
    expect((await server.gql(RESET, { t: mail!.token, p: 'a brand new password' })).body.data).toEqual({ resetPassword: true });
    const [sent] = (await outboxRows(server)).filter((r) => r.kind === 'reset_password');
    expect(sent).toMatchObject({ attempts: 3, text_body: null, html_body: null, last_error: null, failed_at: null });
  });

  it('a restart of tokengate loses no queued mail: the new process sends it', async () => {
    const storage = await createStorage();
    cleanup.push(() => storage.dispose());
    const first = await setUp({}, storage);
    await signupWithEmail(first.server, 'restarter', 'restarter@example.test');
    await first.smtp.waitFor('restarter@example.test');
    await first.smtp.stop();
    await first.server.gql(REQUEST_RESET, { e: 'restarter@example.test' });
    await flushOutbox(first.server);
    expect(await pending(first.server)).toHaveLength(1);
    await first.server.app.stop();

    // A new process on the same storage, with a working SMTP server: its first pass at start-up sends the mail
    // once it is due (the injected clock of the new process starts after the backoff).
    const smtp = await TestSmtpServer.start();
    cleanup.push(() => smtp.stop());
    const clock = new ManualClock(first.clock.now() + 31_000);
    const second = await startServer({ ...EMAIL_TEST_LIMITS, SMTP_URL: smtp.url }, { storage, deps: { clock } });
    cleanup.push(() => second.app.stop());
    const [mail] = await smtp.waitFor('restarter@example.test');
    expect(mail!.subject).toBe('Reset your password');
    expect((await second.gql(RESET, { t: mail!.token, p: 'a brand new password' })).body.data).toEqual({ resetPassword: true });
  });

  it('gives up after MAIL_MAX_ATTEMPTS tries, with one error line, and erases the body', async () => {
    const { smtp, clock, logs, server } = await setUp({ MAIL_MAX_ATTEMPTS: '3' });
    await smtp.stop();
    await signupWithEmail(server, 'unreachable', 'unreachable@example.test');
    await flushOutbox(server);
    clock.advance(30);
    await flushOutbox(server);
    clock.advance(60);
    await flushOutbox(server);
    const [row] = await outboxRows(server);
    expect(row).toMatchObject({ attempts: 3, text_body: null, html_body: null, sent_at: null });
    expect(row!.failed_at).not.toBeNull();
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    const failed = logs.entries().filter((e) => e.event === 'mail.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 50, mailId: row!.id, kind: 'verify_email', attempts: 3 });
    expect(logs.entries().filter((e) => e.event === 'mail.retry')).toHaveLength(2);
    // Given up means given up: a later pass with SMTP back sends nothing.
    await smtp.resume();
    clock.advance(3600);
    await flushOutbox(server);
    expect(smtp.received).toHaveLength(0);
    expect(await server.app.outbox!.queueDepth()).toBe(0);
  });

  it('a recipient the SMTP server refuses for good (5xx) is given up at once', async () => {
    const { smtp, logs, server } = await setUp();
    await signupWithEmail(server, 'refused', 'bounce@example.test');
    await flushOutbox(server);
    const [row] = await outboxRows(server);
    expect(smtp.received).toHaveLength(0);
    expect(row).toMatchObject({ attempts: 1, text_body: null });
    expect(row!.failed_at).not.toBeNull();
    expect(row!.last_error).toMatch(/^EENVELOPE 550/);
    expect(logs.entries().filter((e) => e.event === 'mail.failed')).toHaveLength(1);
  });
});
