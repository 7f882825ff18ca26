import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { TestSmtpServer } from '../helpers/smtp.js';

/*
 * Two real tokengate processes on one PostgreSQL (and Redis), one SMTP
 * server: their outbox workers compete for the same rows (FOR UPDATE SKIP
 * LOCKED plus a lease) and must never send one mail twice; a password reset
 * asked on one instance and completed on the other ends the sessions held
 * on either, on the very next request.
 */
const SIGNUP = 'mutation ($u: String!, $e: String!) { signup(username: $u, password: "correct horse battery", email: $e) { accessToken } }';
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }';
const MAILS = 40;

describe('the mail outbox on two instances', () => {
  let a: Instance;
  let b: Instance;
  let smtp: TestSmtpServer;
  let database: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    // Each accepted mail takes a while, so the two workers' passes overlap.
    smtp = await TestSmtpServer.start({ delayMs: 15 });
    database = await createDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: serviceUrls().redisUrl,
      REDIS_PREFIX: `tg-mail-${process.pid}:`,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'tokengate <auth@example.test>',
      MAIL_POLL_INTERVAL: '1s',
      LOG_LEVEL: 'info',
      RATE_LIMIT_SIGNUP_ADDRESS: '100000/1h',
    };
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await smtp?.stop();
    await database?.drop();
  });

  it(`${MAILS} mails queued on both instances are each sent exactly once`, async () => {
    // Every signup wakes its instance's worker, which drains the whole queue: both compete for every row.
    const signups = Array.from({ length: MAILS }, (_, i) => (i % 2 === 0 ? a : b).gql(SIGNUP, { u: `racer-${i}`, e: `racer-${i}@example.test` }));
    for (const res of await Promise.all(signups)) expect(res.body.errors).toBeUndefined();
    const deadline = Date.now() + 30_000;
    while (smtp.received.length < MAILS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Several more poll intervals of both workers: a duplicate would arrive now.
    await new Promise((r) => setTimeout(r, 3_000));

    expect(smtp.received).toHaveLength(MAILS);
    expect(new Set(smtp.received.map((m) => m.messageId)).size).toBe(MAILS);
    expect(new Set(smtp.received.map((m) => m.to)).size).toBe(MAILS);
    const sentBy = (i: Instance) => i.output().split('\n').filter((line) => line.includes('"event":"mail.sent"')).length;
    expect(sentBy(a) + sentBy(b)).toBe(MAILS);
    console.log(`[mail-outbox] ${MAILS} mails, sent by A: ${sentBy(a)}, by B: ${sentBy(b)}; duplicates: 0`);
  });

  it('a reset asked on B and completed on A ends the sessions on both, on the next request', async () => {
    const first = await a.gql<{ signup: { accessToken: string } }>(SIGNUP, { u: 'roamer', e: 'roamer@example.test' });
    const onA = first.body.data!.signup.accessToken;
    const login = await b.gql<{ login: { accessToken: string; refreshToken: string } }>(LOGIN, { u: 'roamer', p: 'correct horse battery' });
    const onB = login.body.data!.login;
    const me = '{ me { username } }';
    expect((await b.gql(me, {}, onA)).body.data).toEqual({ me: { username: 'roamer' } }); // B has seen (and cached) the session
    expect((await a.gql(me, {}, onB.accessToken)).body.data).toEqual({ me: { username: 'roamer' } });

    expect((await b.gql('mutation { requestPasswordReset(email: "Roamer@example.test") }')).body.data).toEqual({ requestPasswordReset: true });
    const [, mail] = await smtp.waitFor('roamer@example.test', 2);
    const reset = await a.gql('mutation ($t: String!) { resetPassword(token: $t, newPassword: "a brand new password") }', { t: mail!.token });
    expect(reset.body.data).toEqual({ resetPassword: true });
    for (const [instance, token] of [[a, onA], [b, onA], [a, onB.accessToken], [b, onB.accessToken]] as const) {
      expect((await instance.gql(me, {}, token)).body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    }
    const refresh = await b.gql('mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', { t: onB.refreshToken });
    expect(refresh.body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await b.gql(LOGIN, { u: 'roamer', p: 'a brand new password' })).body.errors).toBeUndefined();
  });

  it('an instance killed (SIGKILL) with a mail still queued loses it not: another process sends it', async () => {
    const down = await TestSmtpServer.start();
    const downUrl = down.url;
    await down.stop(); // nothing listens there: every try fails
    const base = {
      DATABASE_URL: database.url,
      REDIS_URL: serviceUrls().redisUrl,
      REDIS_PREFIX: `tg-mail-${process.pid}:`,
      MAIL_FROM: 'tokengate <auth@example.test>',
      MAIL_POLL_INTERVAL: '1s',
      MAIL_RETRY_DELAY: '1s',
      RATE_LIMIT_SIGNUP_ADDRESS: '100000/1h',
    };
    const doomed = await startInstance('C', { ...base, SMTP_URL: downUrl });
    expect((await doomed.gql(SIGNUP, { u: 'survivor', e: 'survivor@example.test' })).body.errors).toBeUndefined();
    // Killed between tries (not inside one, whose 5-minute lease would only delay the mail): its first try has failed.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await client.query("select attempts, claimed_until from mail_outbox where to_address = 'survivor@example.test'");
        if (rows[0]?.attempts >= 1 && rows[0]?.claimed_until === null) break;
        if (Date.now() > deadline) throw new Error(`C never tried the mail: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await client.end();
    }
    const exited = new Promise((r) => doomed.process.once('exit', r));
    doomed.process.kill('SIGKILL');
    await exited;
    // A and B (working SMTP) pick the mail up once its retry is due.
    const [mail] = await smtp.waitFor('survivor@example.test', 1, 30_000);
    expect(mail!.subject).toBe('Confirm your email address');
    expect((await a.gql('mutation ($t: String!) { verifyEmail(token: $t) }', { t: mail!.token })).body.data).toEqual({ verifyEmail: true });
  });
});
