import type { Db } from '../db/database.js';
import { toTimestamp, type CredentialKind } from '../db/tables.js';

/*
 * The `credentials` table: one row per way a user proves who they are. Only
 * stored forms ever reach it (hashes, ciphertexts), and they never leave the
 * services. Kinds with at most one row per user (password, TOTP) are kept
 * unique by the database (credentials_one_per_user_idx).
 */

/** Adds a credential row. */
export async function insertCredential(
  db: Db,
  row: { readonly id: string; readonly userId: string; readonly kind: CredentialKind; readonly material: string; readonly counter?: number | null; readonly now: number },
): Promise<void> {
  await db
    .insertInto('credentials')
    .values({
      id: row.id,
      user_id: row.userId,
      kind: row.kind,
      material: row.material,
      counter: row.counter ?? null,
      created_at: toTimestamp(row.now),
      last_used_at: null,
    })
    .execute();
}

/** A user's one credential of a single-row kind (password, TOTP, a pending enrollment), or null. */
export async function findSingleCredential(
  db: Db,
  userId: string,
  kind: CredentialKind,
): Promise<{ readonly id: string; readonly material: string; readonly counter: number | null } | null> {
  const row = await db.selectFrom('credentials').select(['id', 'material', 'counter']).where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return row ? { id: row.id, material: row.material, counter: row.counter === null ? null : Number(row.counter) } : null;
}

/** Whether a user has a credential of a kind. */
export async function hasCredential(db: Db, userId: string, kind: CredentialKind): Promise<boolean> {
  const row = await db.selectFrom('credentials').select('id').where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return row !== undefined;
}

/** Replaces (or adds) a user's one credential of a single-row kind, e.g. a new password hash. */
export async function replaceSingleCredential(db: Db, row: { readonly id: string; readonly userId: string; readonly kind: CredentialKind; readonly material: string; readonly counter?: number | null; readonly now: number }): Promise<void> {
  await deleteCredentials(db, row.userId, [row.kind]);
  await insertCredential(db, row);
}

/** Replaces the material of one credential in place (a password rehashed with new cost parameters). */
export async function updateCredentialMaterial(db: Db, id: string, material: string): Promise<void> {
  await db.updateTable('credentials').set({ material }).where('id', '=', id).execute();
}

/** Records that a credential was just used to sign in. */
export async function touchCredential(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable('credentials').set({ last_used_at: toTimestamp(now) }).where('id', '=', id).execute();
}

/**
 * Raises a credential's counter to `value`, only if it is higher than the
 * one stored: the compare-and-set that makes a TOTP step count at most once,
 * whichever instance (or parallel request) sees it first.
 */
export async function advanceCounter(db: Db, userId: string, kind: CredentialKind, value: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('credentials')
    .set({ counter: value, last_used_at: toTimestamp(now) })
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where((eb) => eb.or([eb('counter', 'is', null), eb('counter', '<', value)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a user's credentials of the given kinds; returns how many went. */
export async function deleteCredentials(db: Db, userId: string, kinds: readonly CredentialKind[]): Promise<number> {
  const result = await db.deleteFrom('credentials').where('user_id', '=', userId).where('kind', 'in', kinds).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes a user's credential of `kind` only if its material is still
 * `material`: the compare-and-set that turns a pending TOTP enrollment into
 * the one in use exactly once, even when a parallel enrollTotp replaced it.
 */
export async function takeCredential(db: Db, userId: string, kind: CredentialKind, material: string): Promise<boolean> {
  const result = await db.deleteFrom('credentials').where('user_id', '=', userId).where('kind', '=', kind).where('material', '=', material).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
