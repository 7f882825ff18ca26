import type { Db } from '../db/database.js';
import { toDate, toTimestamp } from '../db/tables.js';

/** A stored mfaToken. */
export interface StoredMfaToken {
  readonly userId: string;
  readonly expiresAt: Date;
  readonly failures: number;
  readonly usedAt: Date | null;
  /** The first factor's `amr` values (a password, `["pwd"]`, for tokens made before they were recorded). */
  readonly amr: readonly string[];
}

/** Stores a new mfaToken's hash. */
export async function insertMfaToken(db: Db, t: { hash: string; userId: string; now: number; expiresAt: number; amr: readonly string[] }): Promise<void> {
  await db
    .insertInto('mfa_tokens')
    .values({
      token_hash: t.hash,
      user_id: t.userId,
      created_at: toTimestamp(t.now),
      expires_at: toTimestamp(t.expiresAt),
      failures: 0,
      used_at: null,
      amr: JSON.stringify(t.amr),
    })
    .execute();
}

/** Finds an mfaToken by its hash. */
export async function findMfaToken(db: Db, hash: string): Promise<StoredMfaToken | null> {
  const row = await db.selectFrom('mfa_tokens').select(['user_id', 'expires_at', 'failures', 'used_at', 'amr']).where('token_hash', '=', hash).executeTakeFirst();
  if (!row) return null;
  return {
    userId: row.user_id,
    expiresAt: toDate(row.expires_at),
    failures: row.failures,
    usedAt: row.used_at === null ? null : toDate(row.used_at),
    amr: row.amr === null ? ['pwd'] : (JSON.parse(row.amr) as string[]),
  };
}

/**
 * Counts one more code tried with a live token, before the code is checked:
 * the compare-and-set (and, in a transaction, the row lock) that keeps
 * parallel guesses within `maxFailures`. False when the token is used,
 * expired or out of tries.
 */
export async function claimMfaAttempt(db: Db, hash: string, now: number, maxFailures: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_tokens')
    .set((eb) => ({ failures: eb('failures', '+', 1) }))
    .where('token_hash', '=', hash)
    .where('used_at', 'is', null)
    .where('failures', '<', maxFailures)
    .where('expires_at', '>', toTimestamp(now))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Marks a token used after a right code, giving back the try claimed for it. */
export async function completeMfaToken(db: Db, hash: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_tokens')
    .set((eb) => ({ used_at: toTimestamp(now), failures: eb('failures', '-', 1) }))
    .where('token_hash', '=', hash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Voids every outstanding mfaToken of a user (TOTP turned off, password changed). */
export async function deleteMfaTokensOfUser(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('mfa_tokens').where('user_id', '=', userId).execute();
}

/** Deletes up to `limit` second-step tokens that expired before `now` (used ones expire too); returns how many (for the pruner). */
export async function pruneExpiredMfaTokens(db: Db, now: number, limit: number): Promise<number> {
  const expired = db.selectFrom('mfa_tokens').select('token_hash').where('expires_at', '<=', toTimestamp(now)).limit(limit);
  const result = await db.deleteFrom('mfa_tokens').where('token_hash', 'in', expired).executeTakeFirst();
  return Number(result.numDeletedRows);
}
