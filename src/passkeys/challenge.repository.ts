import type { Db } from '../db/database.js';
import { toTimestamp } from '../db/tables.js';

/** What a challenge was handed out for. */
export type ChallengePurpose = 'registration' | 'login' | 'login_named';

/** A challenge taken by the call that finishes its ceremony. */
export interface TakenChallenge {
  readonly purpose: ChallengePurpose;
  /** Registration: who registers. login_named: whom the username named (null: nobody, nothing matches). login: null. */
  readonly userId: string | null;
}

/** Stores a challenge handed out (by its hash), for `purpose` and maybe a user, until `expiresAt`. */
export async function insertChallenge(
  db: Db,
  c: { readonly hash: string; readonly purpose: ChallengePurpose; readonly userId: string | null; readonly now: number; readonly expiresAt: number },
): Promise<void> {
  await db
    .insertInto('passkey_challenges')
    .values({ challenge_hash: c.hash, purpose: c.purpose, user_id: c.userId, created_at: toTimestamp(c.now), expires_at: toTimestamp(c.expiresAt) })
    .execute();
}

/**
 * Takes a live challenge: deletes it and answers what it was for, in one
 * statement, so of two requests finishing with the same challenge (on one
 * instance or two) exactly one gets it. Null when unknown, taken, expired or
 * handed out for another ceremony; an expired row stays for the pruner.
 */
export async function takeChallenge(db: Db, hash: string, purposes: readonly ChallengePurpose[], now: number): Promise<TakenChallenge | null> {
  const row = await db
    .deleteFrom('passkey_challenges')
    .where('challenge_hash', '=', hash)
    .where('purpose', 'in', purposes)
    .where('expires_at', '>', toTimestamp(now))
    .returning(['purpose', 'user_id'])
    .executeTakeFirst();
  return row ? { purpose: row.purpose, userId: row.user_id } : null;
}

/** Deletes up to `limit` challenges that expired before `now`; returns how many (for the pruner). */
export async function pruneExpiredChallenges(db: Db, now: number, limit: number): Promise<number> {
  const expired = db.selectFrom('passkey_challenges').select('challenge_hash').where('expires_at', '<=', toTimestamp(now)).limit(limit);
  const result = await db.deleteFrom('passkey_challenges').where('challenge_hash', 'in', expired).executeTakeFirst();
  return Number(result.numDeletedRows);
}
