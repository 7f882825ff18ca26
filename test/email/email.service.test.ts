import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashOneTimeToken } from '../../src/tokens/one-time-token.js';
import { BACKEND } from '../helpers/backend.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

/*
 * The email use cases on real storage, with the outbox worker stopped so
 * the queued rows stay for the test to read.
 */
let h: ServiceHarness;
beforeEach(async () => {
  h = await startServices({ RATE_LIMIT_MAIL_RECIPIENT: '1000/1h', RATE_LIMIT_RESET_ADDRESS: '1000/1h' });
  await h.outbox!.stop();
});
afterEach(async () => {
  await h.stop();
});

/** The token of the queued mail of `kind` to `to`, read from its body as the recipient would. */
async function linkTokenFor(to: string, kind: 'verify_email' | 'reset_password' = 'reset_password'): Promise<string> {
  const rows = await h.core.db.selectFrom('mail_outbox').select('text_body').where('to_address', '=', to).where('kind', '=', kind).execute();
  const token = /token=([A-Za-z0-9_-]{43})/.exec(rows[0]?.text_body ?? '')?.[1];
  if (!token) throw new Error(`no queued mail for ${to}`);
  return token;
}

describe(`signup with an address is atomic (${BACKEND})`, () => {
  it('a fault on queuing the mail leaves no user, session or token; a retry succeeds and queues one mail', async () => {
    h.gate.failOn('insert:mail_outbox');
    await expect(h.services.signIn.signup('mailer', PASSWORD, META, 'mailer@example.test')).rejects.toThrow('injected fault on insert:mail_outbox');
    for (const table of ['users', 'sessions', 'email_tokens', 'mail_outbox'] as const) {
      expect(await h.core.db.selectFrom(table).selectAll().execute(), table).toEqual([]);
    }
    const pair = await h.services.signIn.signup('mailer', PASSWORD, META, 'mailer@example.test');
    expect(pair.user).toMatchObject({ email: 'mailer@example.test', emailVerified: false });
    const token = await linkTokenFor('mailer@example.test', 'verify_email');
    const stored = await h.core.db.selectFrom('email_tokens').selectAll().execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ token_hash: hashOneTimeToken(token), kind: 'verify_email', user_id: pair.user.id });
  });
});

describe(`link tokens are single use under races (${BACKEND})`, () => {
  it('two resetPassword calls with one token at once: exactly one wins, the other is INVALID_EMAIL_TOKEN', async () => {
    await h.services.signIn.signup('racer', PASSWORD, META, 'racer@example.test');
    await h.services.email.requestPasswordReset('racer@example.test', META);
    const token = await linkTokenFor('racer@example.test');
    const results = await Promise.allSettled([
      h.services.email.resetPassword(token, 'first new password', META),
      h.services.email.resetPassword(token, 'second new password', META),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0]!.reason as { code?: string }).code).toBe('INVALID_EMAIL_TOKEN');
  });

  it('a fault inside resetPassword changes nothing: the password and the sessions stay, the link still works', async () => {
    const pair = await h.services.signIn.signup('faulty', PASSWORD, META, 'faulty@example.test');
    await h.services.email.requestPasswordReset('faulty@example.test', META);
    const token = await linkTokenFor('faulty@example.test');
    h.gate.failOn('update:sessions');
    await expect(h.services.email.resetPassword(token, 'a brand new password', META)).rejects.toThrow('injected fault');
    await h.services.signIn.login('faulty', PASSWORD, META);
    const open = await h.core.db.selectFrom('sessions').select('id').where('user_id', '=', pair.user.id).where('ended_at', 'is', null).execute();
    expect(open).toHaveLength(2);
    expect(await h.services.email.resetPassword(token, 'a brand new password', META)).toBe(true);
  });
});
