import type { Db } from '../db/database.js';
import { toTimestamp } from '../db/tables.js';

/** A user's TOTP columns, still sealed (see secret-box.ts). */
export interface TotpState {
  readonly secret: string | null;
  readonly pendingSecret: string | null;
  readonly enabled: boolean;
  readonly lastStep: number | null;
}

/** Reads a user's TOTP state; null when there is no such user. */
export async function findTotpState(db: Db, userId: string): Promise<TotpState | null> {
  const row = await db
    .selectFrom('users')
    .select(['totp_secret', 'totp_pending_secret', 'totp_enabled_at', 'totp_last_step'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    secret: row.totp_secret,
    pendingSecret: row.totp_pending_secret,
    enabled: row.totp_enabled_at !== null && row.totp_secret !== null,
    lastStep: row.totp_last_step === null ? null : Number(row.totp_last_step),
  };
}

/** Whether TOTP is on for a user. */
export async function isTotpEnabled(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('totp_enabled_at').where('id', '=', userId).executeTakeFirst();
  return row !== undefined && row.totp_enabled_at !== null;
}

/** Stores a new pending secret, replacing any earlier pending one; false when there is no such user. */
export async function setPendingSecret(db: Db, userId: string, sealed: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_pending_secret: sealed, updated_at: toTimestamp(now) })
    .where('id', '=', userId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Turns the pending secret `sealed` into the one in use, with `step` as its
 * last accepted step. A compare-and-set on the pending secret: a parallel
 * enrollTotp that replaced it makes this a no-op (false).
 */
export async function activatePendingSecret(db: Db, userId: string, sealed: string, step: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_secret: sealed, totp_pending_secret: null, totp_enabled_at: toTimestamp(now), totp_last_step: step, updated_at: toTimestamp(now) })
    .where('id', '=', userId)
    .where('totp_pending_secret', '=', sealed)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Records `step` as the user's last accepted TOTP step, only if it is later
 * than the one stored: the compare-and-set that makes a code work at most
 * once, whichever instance (or parallel request) sees it first.
 */
export async function claimTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_last_step: step })
    .where('id', '=', userId)
    .where('totp_enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Turns TOTP off: secrets, pending enrollment, replay state and recovery codes go. */
export async function clearTotp(db: Db, userId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_secret: null, totp_pending_secret: null, totp_enabled_at: null, totp_last_step: null, updated_at: toTimestamp(now) })
    .where('id', '=', userId)
    .executeTakeFirst();
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  return result.numUpdatedRows > 0n;
}

/** Replaces a user's recovery codes with the given hashes. */
export async function replaceRecoveryCodes(db: Db, userId: string, hashes: readonly string[], now: number): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('recovery_codes')
    .values(hashes.map((hash) => ({ user_id: userId, code_hash: hash, created_at: toTimestamp(now), used_at: null })))
    .execute();
}

/** Uses up one recovery code; false when it is unknown, someone else's or already used. */
export async function useRecoveryCode(db: Db, userId: string, hash: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: toTimestamp(now) })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
