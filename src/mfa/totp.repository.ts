import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { toTimestamp } from '../db/tables.js';
import { advanceCounter, deleteCredentials, findSingleCredential, hasCredential, replaceSingleCredential, takeCredential } from '../credentials/credential.repository.js';

/*
 * A user's TOTP state as credential rows: `totp` (the secret in use, its
 * counter the last accepted step) and `totp_pending` (an enrollment waiting
 * for confirmTotp). Secrets stay sealed here (see secret-box.ts).
 */

/** A user's TOTP state, still sealed. */
export interface TotpState {
  readonly secret: string | null;
  readonly pendingSecret: string | null;
  readonly enabled: boolean;
  readonly lastStep: number | null;
}

/** Reads a user's TOTP state. */
export async function findTotpState(db: Db, userId: string): Promise<TotpState> {
  // One after the other: inside a transaction both would wait for its one connection anyway.
  const active = await findSingleCredential(db, userId, 'totp');
  const pending = await findSingleCredential(db, userId, 'totp_pending');
  return { secret: active?.material ?? null, pendingSecret: pending?.material ?? null, enabled: active !== null, lastStep: active?.counter ?? null };
}

/** Whether TOTP is on for a user. */
export function isTotpEnabled(db: Db, userId: string): Promise<boolean> {
  return hasCredential(db, userId, 'totp');
}

/** Stores a new pending secret, replacing any earlier pending one. */
export async function setPendingSecret(db: Db, userId: string, sealed: string, now: number): Promise<void> {
  await replaceSingleCredential(db, { id: randomUUID(), userId, kind: 'totp_pending', material: sealed, now });
}

/**
 * Turns the pending secret `sealed` into the one in use, with `step` as its
 * last accepted step. A compare-and-set on the pending secret: a parallel
 * enrollTotp that replaced it makes this a no-op (false).
 */
export async function activatePendingSecret(db: Db, userId: string, sealed: string, step: number, now: number): Promise<boolean> {
  if (!(await takeCredential(db, userId, 'totp_pending', sealed))) return false;
  await replaceSingleCredential(db, { id: randomUUID(), userId, kind: 'totp', material: sealed, counter: step, now });
  return true;
}

/**
 * Records `step` as the user's last accepted TOTP step, only if it is later
 * than the one stored: the compare-and-set that makes a code work at most
 * once, whichever instance (or parallel request) sees it first.
 */
export function claimTotpStep(db: Db, userId: string, step: number, now: number): Promise<boolean> {
  return advanceCounter(db, userId, 'totp', step, now);
}

/** Turns TOTP off: the secret, a pending enrollment and the recovery codes go. */
export async function clearTotp(db: Db, userId: string): Promise<void> {
  await deleteCredentials(db, userId, ['totp', 'totp_pending']);
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
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
