import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDueMail, countQueuedMail, enqueueMail, markMailSent, pruneSettledMail } from '../../src/email/mail/outbox.repository.js';
import { insertEmailToken, pruneSpentEmailTokens, voidEmailTokens } from '../../src/email/email-token.repository.js';
import { BACKEND } from '../helpers/backend.js';
import { signup, startServer, type TestServer } from '../helpers/server.js';

/*
 * The outbox's claim on the database itself: many claims at once (as many
 * workers would make) never hand out one row twice, a lease that runs out
 * frees its row, and the pruning functions remove only what is settled.
 */
describe(`outbox claims on ${BACKEND}`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ MAIL_POLL_INTERVAL: '1h', MAIL_OUTBOX_DIR: '/dev/null/never-written' });
    // The server's own worker must not take part: it is stopped, the rows are the test's.
    await server.app.outbox!.stop();
  });
  afterAll(() => server?.stop());
  const now = Date.parse('2030-01-01T00:00:00Z');

  it('20 concurrent claims of 60 due mails hand out each mail exactly once', async () => {
    const { db } = server.app;
    const ids = Array.from({ length: 60 }, () => randomUUID());
    for (const id of ids) await enqueueMail(db, { id, kind: 'verify_email', userId: null, to: 'x@example.test', subject: 's', text: 't', html: 'h', now });
    const claims = await Promise.all(Array.from({ length: 20 }, () => claimDueMail(db, BACKEND, now, 60_000, 5)));
    const claimed = claims.flat().map((m) => m.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    // Claims that found nothing left are fine; what was left is claimed by the next pass, still once.
    const rest = (await claimDueMail(db, BACKEND, now, 60_000, 100)).map((m) => m.id);
    expect([...claimed, ...rest].sort()).toEqual([...ids].sort());
    // Leased: nothing is due until the lease runs out; then every unsent mail is due again (a crashed worker's).
    expect(await claimDueMail(db, BACKEND, now + 59_000, 60_000, 100)).toHaveLength(0);
    const again = await claimDueMail(db, BACKEND, now + 60_000, 60_000, 100);
    expect(again).toHaveLength(60);
    expect(again.every((m) => m.attempts === 2)).toBe(true);
    for (const id of ids) await markMailSent(db, id, now + 61_000);
    expect(await countQueuedMail(db)).toBe(0);
    // Pruning removes settled mail older than the cut-off, in bounded batches.
    expect(await pruneSettledMail(db, now + 62_000, 25)).toBe(25);
    expect(await pruneSettledMail(db, now + 62_000, 100)).toBe(35);
    expect(await pruneSettledMail(db, now + 62_000, 100)).toBe(0);
  });

  it('pruneSpentEmailTokens removes used, voided and expired tokens only', async () => {
    const { db } = server.app;
    const user = await signup(server, 'pruned');
    const insert = (hash: string, expiresAt: number) =>
      insertEmailToken(db, { hash, userId: user.user.id, kind: 'reset_password', emailKey: 'p@example.test', now, expiresAt });
    await insert('live', now + 3_600_000);
    await insert('expired', now - 1);
    await voidEmailTokens(db, user.user.id, ['reset_password'], now); // voids "live" and "expired"
    await insert('fresh', now + 3_600_000);
    expect(await pruneSpentEmailTokens(db, now, 100)).toBe(2);
    const left = await db.selectFrom('email_tokens').select('token_hash').execute();
    expect(left.map((t) => t.token_hash)).toEqual(['fresh']);
  });
});
