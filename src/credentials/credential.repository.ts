import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { toDate, toTimestamp, type CredentialKind } from '../db/tables.js';

/*
 * The `credentials` table: one row per way a user proves who they are. Only
 * stored forms ever reach it (hashes, ciphertexts), and they never leave the
 * services. Kinds with at most one row per user (password, TOTP) are kept
 * unique by the database (credentials_one_per_user_idx).
 */

/** A credential row to add; `name`, `lookup` and `expiresAt` belong to the kinds a user keeps several of (passkeys, identities, API keys). */
export interface NewCredential {
  readonly id: string;
  readonly userId: string;
  readonly kind: CredentialKind;
  readonly material: string;
  readonly counter?: number | null;
  readonly name?: string | null;
  readonly lookup?: string | null;
  readonly expiresAt?: number | null;
  readonly now: number;
}

/** Adds a credential row; a `lookup` someone already holds fails with the database's unique violation. */
export async function insertCredential(db: Db, row: NewCredential): Promise<void> {
  await db
    .insertInto('credentials')
    .values({
      id: row.id,
      user_id: row.userId,
      kind: row.kind,
      material: row.material,
      counter: row.counter ?? null,
      name: row.name ?? null,
      lookup: row.lookup ?? null,
      expires_at: row.expiresAt == null ? null : toTimestamp(row.expiresAt),
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
export async function replaceSingleCredential(db: Db, row: NewCredential): Promise<void> {
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

/** One credential row as the features that keep many per user read it (passkeys, identities, API keys). */
export interface CredentialRow {
  readonly id: string;
  readonly userId: string;
  readonly kind: CredentialKind;
  readonly material: string;
  readonly counter: number | null;
  readonly name: string | null;
  readonly lookup: string | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date | null;
}

const rowColumns = ['id', 'user_id', 'kind', 'material', 'counter', 'name', 'lookup', 'created_at', 'last_used_at', 'expires_at'] as const;

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}

function toCredentialRow(row: {
  id: string;
  user_id: string;
  kind: CredentialKind;
  material: string;
  counter: number | string | null;
  name: string | null;
  lookup: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
  expires_at: Date | string | null;
}): CredentialRow {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    material: row.material,
    counter: row.counter === null ? null : Number(row.counter),
    name: row.name,
    lookup: row.lookup,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDateOrNull(row.last_used_at),
    expiresAt: toDateOrNull(row.expires_at),
  };
}

/** The credential of `kind` whose lookup is `lookup` (a passkey id, an issuer and subject, a key hash), whoever holds it, or null. */
export async function findCredentialByLookup(db: Db, kind: CredentialKind, lookup: string): Promise<CredentialRow | null> {
  const row = await db.selectFrom('credentials').select(rowColumns).where('kind', '=', kind).where('lookup', '=', lookup).executeTakeFirst();
  return row ? toCredentialRow(row) : null;
}

/** A user's credentials of `kind`, oldest first. */
export async function listCredentials(db: Db, userId: string, kind: CredentialKind): Promise<CredentialRow[]> {
  const rows = await db.selectFrom('credentials').select(rowColumns).where('user_id', '=', userId).where('kind', '=', kind).orderBy('created_at').orderBy('id').execute();
  return rows.map(toCredentialRow);
}

/** One credential of `kind` by id, only if it belongs to `userId`; null for unknown ids and other users' credentials alike. */
export async function findOwnCredential(db: Db, userId: string, id: string, kind: CredentialKind): Promise<CredentialRow | null> {
  const row = await db.selectFrom('credentials').select(rowColumns).where('id', '=', id).where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return row ? toCredentialRow(row) : null;
}

/** Renames a user's own credential; false when it is unknown or someone else's. */
export async function renameCredential(db: Db, userId: string, id: string, kind: CredentialKind, name: string): Promise<boolean> {
  const result = await db.updateTable('credentials').set({ name }).where('id', '=', id).where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a user's own credential; false when it is unknown or someone else's. */
export async function deleteCredential(db: Db, userId: string, id: string, kind: CredentialKind): Promise<boolean> {
  const result = await db.deleteFrom('credentials').where('id', '=', id).where('user_id', '=', userId).where('kind', '=', kind).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The kinds that let a user sign in on their own (TOTP is a second factor; an API key opens no session). */
export const SIGN_IN_KINDS: readonly CredentialKind[] = ['password', 'passkey', 'identity'];

/**
 * Takes the user's row lock for the rest of the transaction (a no-op
 * update): two removals of a user's last two ways in then run one after the
 * other, so the second one's count sees the first one's delete. Under
 * PostgreSQL's READ COMMITTED a count alone would not: each transaction sees
 * the other's row still there, and both commit. (SQLite runs one write
 * transaction at a time anyway.)
 */
export async function lockWaysIn(db: Db, userId: string): Promise<void> {
  await db.updateTable('users').set({ updated_at: sql<string>`updated_at` }).where('id', '=', userId).execute();
}

/**
 * How many ways a user has to sign in: password, passkeys and linked
 * identities. A removal that would leave none is refused (LAST_CREDENTIAL):
 * in the removal's transaction, take `lockWaysIn` first, delete, count, and
 * roll back on 0, so two parallel removals cannot both pass the check.
 */
export async function countWaysIn(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('credentials')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
    .where('user_id', '=', userId)
    .where('kind', 'in', SIGN_IN_KINDS)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
