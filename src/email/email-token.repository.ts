import type { Db } from '../db/database.js';
import { toDate, toTimestamp } from '../db/tables.js';
import type { OneTimeTokenKind } from '../tokens/one-time-token.js';

/** A stored one-time link token, with what its use needs to know of its user. */
export interface StoredEmailToken {
  readonly userId: string;
  readonly username: string;
  readonly kind: OneTimeTokenKind;
  readonly emailKey: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

/** Stores a token by its hash. */
export async function insertEmailToken(
  db: Db,
  t: { hash: string; userId: string; kind: OneTimeTokenKind; emailKey: string; now: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('email_tokens')
    .values({
      token_hash: t.hash,
      user_id: t.userId,
      kind: t.kind,
      email_key: t.emailKey,
      created_at: toTimestamp(t.now),
      expires_at: toTimestamp(t.expiresAt),
      used_at: null,
    })
    .execute();
}

/** Voids a user's unused tokens of the given kinds (a newer link replaces them); returns how many. */
export async function voidEmailTokens(db: Db, userId: string, kinds: readonly OneTimeTokenKind[], now: number): Promise<number> {
  const result = await db
    .updateTable('email_tokens')
    .set({ used_at: toTimestamp(now) })
    .where('user_id', '=', userId)
    .where('kind', 'in', kinds)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Finds a token by its hash, with its user's name. */
export async function findEmailToken(db: Db, hash: string): Promise<StoredEmailToken | null> {
  const row = await db
    .selectFrom('email_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.user_id', 'u.username', 't.kind', 't.email_key', 't.expires_at', 't.used_at'])
    .where('t.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    userId: row.user_id,
    username: row.username,
    kind: row.kind as OneTimeTokenKind,
    emailKey: row.email_key,
    expiresAt: toDate(row.expires_at),
    usedAt: row.used_at === null ? null : toDate(row.used_at),
  };
}

/**
 * Uses a token up, if it is of `kind`, unused and unexpired: a compare-and-set,
 * so of two parallel uses exactly one wins, on either dialect.
 */
export async function consumeEmailToken(db: Db, hash: string, kind: OneTimeTokenKind, now: number): Promise<boolean> {
  const result = await db
    .updateTable('email_tokens')
    .set({ used_at: toTimestamp(now) })
    .where('token_hash', '=', hash)
    .where('kind', '=', kind)
    .where('used_at', 'is', null)
    .where('expires_at', '>', toTimestamp(now))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes up to `limit` tokens that were used, voided or have expired before `now`; returns how many (for the pruner). */
export async function pruneSpentEmailTokens(db: Db, now: number, limit: number): Promise<number> {
  const at = toTimestamp(now);
  const spent = db
    .selectFrom('email_tokens')
    .select('token_hash')
    .where((eb) => eb.or([eb('used_at', 'is not', null), eb('expires_at', '<=', at)]))
    .limit(limit);
  const result = await db.deleteFrom('email_tokens').where('token_hash', 'in', spent).executeTakeFirst();
  return Number(result.numDeletedRows);
}
