import { randomUUID } from 'node:crypto';
import { findCredentialByLookup, insertCredential, listCredentials, type CredentialRow } from '../credentials/credential.repository.js';
import type { Db } from '../db/database.js';
import { toTimestamp } from '../db/tables.js';
import { toUser, PUBLIC_COLUMNS } from '../users/user.repository.js';
import type { User } from '../users/user.js';

/*
 * Linked identities: `credentials` rows of kind 'identity', found by
 * `lookup` = issuer + ' ' + subject (unique per kind in the database), so
 * an identity belongs to at most one user. `name` is the provider's name;
 * `material` is a JSON object of facts (never a token or a secret).
 */

/** A linked identity as the API shows it. */
export interface Identity {
  readonly id: string;
  readonly userId: string;
  readonly provider: string;
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly linkedAt: Date;
}

interface IdentityMaterial {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
}

/** The lookup key of an identity: the issuer and the subject, which together never change and never repeat (OpenID Connect Core, 5.7). */
export function identityLookup(issuer: string, subject: string): string {
  return `${issuer} ${subject}`;
}

function toIdentity(row: CredentialRow): Identity {
  const material = JSON.parse(row.material) as IdentityMaterial;
  return { id: row.id, userId: row.userId, provider: row.name ?? '', issuer: material.issuer, subject: material.subject, email: material.email, linkedAt: row.createdAt };
}

/** The identity with this issuer and subject, whoever holds it, or null. */
export async function findIdentity(db: Db, issuer: string, subject: string): Promise<Identity | null> {
  const row = await findCredentialByLookup(db, 'identity', identityLookup(issuer, subject));
  return row ? toIdentity(row) : null;
}

/** A user's linked identities, oldest first. */
export async function listIdentities(db: Db, userId: string): Promise<Identity[]> {
  return (await listCredentials(db, userId, 'identity')).map(toIdentity);
}

/** Links an identity to a user; an identity someone holds already fails with the database's unique violation. */
export async function insertIdentity(db: Db, identity: { userId: string; provider: string; issuer: string; subject: string; email: string | null; now: number }): Promise<void> {
  const material: IdentityMaterial = { issuer: identity.issuer, subject: identity.subject, email: identity.email };
  await insertCredential(db, {
    id: randomUUID(),
    userId: identity.userId,
    kind: 'identity',
    material: JSON.stringify(material),
    name: identity.provider,
    lookup: identityLookup(identity.issuer, identity.subject),
    now: identity.now,
  });
}

/** Records that an identity was just used to sign in. */
export async function touchIdentity(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable('credentials').set({ last_used_at: toTimestamp(now) }).where('id', '=', id).execute();
}

/** Deletes a user's identities of one provider; answers how many went. */
export async function deleteIdentitiesOf(db: Db, userId: string, provider: string): Promise<number> {
  const result = await db.deleteFrom('credentials').where('user_id', '=', userId).where('kind', '=', 'identity').where('name', '=', provider).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Takes an address away from the account that holds it unverified (an
 * unverified address reserves nothing): answers that account as it was, or
 * null when no account holds it unverified (it is free, or proven by its
 * holder, who keeps it).
 */
export async function releaseUnverifiedEmail(db: Db, emailKey: string, now: number): Promise<User | null> {
  const holder = await db.selectFrom('users').select(PUBLIC_COLUMNS).where('email_key', '=', emailKey).where('email_verified_at', 'is', null).executeTakeFirst();
  if (!holder) return null;
  const result = await db
    .updateTable('users')
    .set({ email: null, email_key: null, email_verified_at: null, updated_at: toTimestamp(now) })
    .where('id', '=', holder.id)
    .where('email_key', '=', emailKey)
    .where('email_verified_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? toUser(holder) : null;
}
