import type { Db } from '../../db/database.js';
import { toTimestamp } from '../../db/tables.js';
import type { MailKind, OutgoingMail } from './mail.js';

/*
 * The mail outbox: SQL only. A mail is inserted in the transaction of the
 * token its link carries, and a worker claims, sends and settles it.
 */

/** A mail to queue. */
export interface NewMail {
  readonly id: string;
  readonly kind: MailKind;
  readonly userId: string | null;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly now: number;
}

/** A mail a worker has claimed: its lease runs until claimedUntil. */
export interface ClaimedMail extends OutgoingMail {
  readonly kind: MailKind;
  readonly userId: string | null;
  /** Tries so far, this one included. */
  readonly attempts: number;
}

/** Queues a mail, due at once. */
export async function enqueueMail(db: Db, mail: NewMail): Promise<void> {
  await db
    .insertInto('mail_outbox')
    .values({
      id: mail.id,
      kind: mail.kind,
      user_id: mail.userId,
      to_address: mail.to,
      subject: mail.subject,
      text_body: mail.text,
      html_body: mail.html,
      attempts: 0,
      next_attempt_at: toTimestamp(mail.now),
      claimed_until: null,
      sent_at: null,
      failed_at: null,
      last_error: null,
      created_at: toTimestamp(mail.now),
    })
    .execute();
}

/**
 * Claims up to `limit` due mails for `leaseMs` and counts the try. One
 * statement: on PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so
 * instances claiming at once each get different rows and none waits for
 * another; on SQLite the statement runs alone (one writer), which gives the
 * same guarantee. A lease that runs out (a worker died mid-send) frees its row.
 */
export async function claimDueMail(db: Db, dialect: 'sqlite' | 'postgres', now: number, leaseMs: number, limit: number): Promise<ClaimedMail[]> {
  const at = toTimestamp(now);
  let due = db
    .selectFrom('mail_outbox')
    .select('id')
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .where('next_attempt_at', '<=', at)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', at)]))
    .orderBy('next_attempt_at')
    .limit(limit);
  if (dialect === 'postgres') due = due.forUpdate().skipLocked();
  const rows = await db
    .updateTable('mail_outbox')
    .set((eb) => ({ claimed_until: toTimestamp(now + leaseMs), attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', due)
    // Checked again on the row itself: an UPDATE that waited for another
    // claim's row lock re-reads these, never a subquery's old answer.
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', at)]))
    .returning(['id', 'kind', 'user_id', 'to_address', 'subject', 'text_body', 'html_body', 'attempts'])
    .execute();
  return rows.map((row) => ({
    id: row.id,
    kind: row.kind as MailKind,
    userId: row.user_id,
    to: row.to_address,
    subject: row.subject,
    text: row.text_body ?? '',
    html: row.html_body ?? '',
    attempts: row.attempts,
  }));
}

/** Marks a mail sent and erases its bodies: no usable link stays at rest. */
export async function markMailSent(db: Db, id: string, now: number): Promise<void> {
  await db
    .updateTable('mail_outbox')
    .set({ sent_at: toTimestamp(now), claimed_until: null, text_body: null, html_body: null, last_error: null })
    .where('id', '=', id)
    .execute();
}

/** Puts a mail back in the queue for another try at `nextAttemptAt`. */
export async function markMailRetry(db: Db, id: string, nextAttemptAt: number, error: string): Promise<void> {
  await db
    .updateTable('mail_outbox')
    .set({ next_attempt_at: toTimestamp(nextAttemptAt), claimed_until: null, last_error: error })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .execute();
}

/** Gives up on a mail and erases its bodies. */
export async function markMailFailed(db: Db, id: string, now: number, error: string): Promise<void> {
  await db
    .updateTable('mail_outbox')
    .set({ failed_at: toTimestamp(now), claimed_until: null, text_body: null, html_body: null, last_error: error })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .execute();
}

/** How many mails wait to be sent (for the `tokengate_mail_queue_depth` gauge). */
export async function countQueuedMail(db: Db): Promise<number> {
  const row = await db
    .selectFrom('mail_outbox')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Deletes up to `limit` mails sent or given up before `before` (their bodies are already erased); returns how many. */
export async function pruneSettledMail(db: Db, before: number, limit: number): Promise<number> {
  const at = toTimestamp(before);
  const old = db
    .selectFrom('mail_outbox')
    .select('id')
    .where((eb) => eb.or([eb('sent_at', '<', at), eb('failed_at', '<', at)]))
    .limit(limit);
  const result = await db.deleteFrom('mail_outbox').where('id', 'in', old).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes one mail (the decoy write of requestPasswordReset for an unknown address, inside its own transaction). */
export async function deleteMail(db: Db, id: string): Promise<void> {
  await db.deleteFrom('mail_outbox').where('id', '=', id).execute();
}
