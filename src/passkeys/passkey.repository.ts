import type { Db } from '../db/database.js';
import {
  deleteCredential,
  findCredentialByLookup,
  findOwnCredential,
  insertCredential,
  listCredentials,
  renameCredential,
  type CredentialRow,
} from '../credentials/credential.repository.js';
import { toTimestamp } from '../db/tables.js';

/*
 * Passkeys as `credentials` rows of kind 'passkey': the WebAuthn credential
 * id (base64url) in `lookup` (unique per kind, so one authenticator's
 * credential can belong to one account only), the COSE public key, its
 * transports and whether it is backed up in `material` (JSON; a public key
 * is no secret), the signature counter in `counter`, the user's label in `name`.
 */

const KIND = 'passkey' as const;

/** A stored passkey, as the service reads it. */
export interface StoredPasskey {
  /** The row id (the Passkey's `id` in the API). */
  readonly id: string;
  readonly userId: string;
  /** The WebAuthn credential id, base64url. */
  readonly credentialId: string;
  /** The COSE public key, base64url. */
  readonly publicKey: string;
  readonly transports: readonly string[];
  readonly backedUp: boolean;
  readonly counter: number;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

/** What `material` holds. */
interface PasskeyMaterial {
  readonly publicKey: string;
  readonly transports: readonly string[];
  readonly backedUp: boolean;
}

function toPasskey(row: CredentialRow): StoredPasskey {
  const material = JSON.parse(row.material) as PasskeyMaterial;
  return {
    id: row.id,
    userId: row.userId,
    credentialId: row.lookup ?? '',
    publicKey: material.publicKey,
    transports: material.transports,
    backedUp: material.backedUp,
    counter: row.counter ?? 0,
    name: row.name ?? 'Passkey',
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
  };
}

/** Adds a passkey; a credential id anyone already registered fails with the database's unique violation. */
export async function insertPasskey(
  db: Db,
  p: { readonly id: string; readonly userId: string; readonly credentialId: string; readonly publicKey: string; readonly transports: readonly string[]; readonly backedUp: boolean; readonly counter: number; readonly name: string; readonly now: number },
): Promise<void> {
  const material: PasskeyMaterial = { publicKey: p.publicKey, transports: p.transports, backedUp: p.backedUp };
  await insertCredential(db, { id: p.id, userId: p.userId, kind: KIND, material: JSON.stringify(material), counter: p.counter, name: p.name, lookup: p.credentialId, now: p.now });
}

/** The passkey with this WebAuthn credential id, whoever holds it, or null. */
export async function findPasskeyByCredentialId(db: Db, credentialId: string): Promise<StoredPasskey | null> {
  const row = await findCredentialByLookup(db, KIND, credentialId);
  return row ? toPasskey(row) : null;
}

/** A user's passkeys, oldest first. */
export async function listPasskeys(db: Db, userId: string): Promise<StoredPasskey[]> {
  return (await listCredentials(db, userId, KIND)).map(toPasskey);
}

/** One of the user's own passkeys by row id; null for unknown ids and other users' passkeys alike. */
export async function findOwnPasskey(db: Db, userId: string, id: string): Promise<StoredPasskey | null> {
  const row = await findOwnCredential(db, userId, id, KIND);
  return row ? toPasskey(row) : null;
}

/** Renames one of the user's own passkeys; false when unknown or someone else's. */
export function renamePasskey(db: Db, userId: string, id: string, name: string): Promise<boolean> {
  return renameCredential(db, userId, id, KIND, name);
}

/** Deletes one of the user's own passkeys; false when unknown or someone else's. */
export function deletePasskey(db: Db, userId: string, id: string): Promise<boolean> {
  return deleteCredential(db, userId, id, KIND);
}


/**
 * Records a sign-in with the passkey and its new counter, only if the row
 * still holds the counter the check was made against: of two sign-ins with
 * the same counter racing (a cloned authenticator), one wins. A counter of
 * 0 stays 0 (synced passkeys never count).
 */
export async function recordPasskeyUse(
  db: Db,
  p: { readonly id: string; readonly expectedCounter: number; readonly newCounter: number; readonly backedUp: boolean; readonly material: { readonly publicKey: string; readonly transports: readonly string[] }; readonly now: number },
): Promise<boolean> {
  const material: PasskeyMaterial = { publicKey: p.material.publicKey, transports: p.material.transports, backedUp: p.backedUp };
  const result = await db
    .updateTable('credentials')
    .set({ counter: p.newCounter, last_used_at: toTimestamp(p.now), material: JSON.stringify(material) })
    .where('id', '=', p.id)
    .where('kind', '=', KIND)
    .where('counter', '=', p.expectedCounter)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
