import { z } from 'zod';
import { findOwnCredential, insertCredential, listCredentials, type CredentialRow } from '../credentials/credential.repository.js';
import type { Db } from '../db/database.js';
import { toDate, toTimestamp } from '../db/tables.js';
import { API_SCOPES, type ApiScope } from '../sessions/ports.js';
import { toUser } from '../users/user.repository.js';
import type { ApiKey, ApiKeyState } from './api-key.js';

/** What an API key's `credentials.material` holds: no secret (the key's hash is the row's `lookup`). */
const materialSchema = z.object({
  prefix: z.string(),
  scopes: z.array(z.enum(API_SCOPES)),
  revokedAt: z.string().nullable(),
});
type Material = z.infer<typeof materialSchema>;

function readMaterial(text: string): Material {
  return materialSchema.parse(JSON.parse(text));
}

function toApiKey(row: CredentialRow): ApiKey {
  const material = readMaterial(row.material);
  return {
    id: row.id,
    userId: row.userId,
    name: row.name ?? '',
    prefix: material.prefix,
    scopes: material.scopes,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    expiresAt: row.expiresAt,
    revokedAt: material.revokedAt === null ? null : new Date(material.revokedAt),
  };
}

/** Stores a new key: its hash as the row's lookup, its prefix and scopes as material. */
export async function insertApiKey(
  db: Db,
  key: { id: string; userId: string; name: string; hash: string; prefix: string; scopes: readonly ApiScope[]; expiresAt: number | null; now: number },
): Promise<ApiKey> {
  const material: Material = { prefix: key.prefix, scopes: [...key.scopes], revokedAt: null };
  await insertCredential(db, {
    id: key.id,
    userId: key.userId,
    kind: 'api_key',
    material: JSON.stringify(material),
    name: key.name,
    lookup: key.hash,
    expiresAt: key.expiresAt,
    now: key.now,
  });
  return {
    id: key.id,
    userId: key.userId,
    name: key.name,
    prefix: key.prefix,
    scopes: material.scopes,
    createdAt: new Date(key.now),
    lastUsedAt: null,
    expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
    revokedAt: null,
  };
}

/** A user's keys that are not revoked (expired ones included), oldest first. */
export async function listApiKeys(db: Db, userId: string): Promise<ApiKey[]> {
  return (await listCredentials(db, userId, 'api_key')).map(toApiKey).filter((key) => key.revokedAt === null);
}

/** The id and owner of the key whose hash is `hash`, revoked or not; null for none. */
export async function findApiKeyOwner(db: Db, hash: string): Promise<{ id: string; userId: string } | null> {
  const row = await db.selectFrom('credentials').select(['id', 'user_id']).where('kind', '=', 'api_key').where('lookup', '=', hash).executeTakeFirst();
  return row ? { id: row.id, userId: row.user_id } : null;
}

/** What a request with key `id` needs, with its owner as they are now: one indexed query; null when the row is gone. */
export async function readApiKeyState(db: Db, id: string): Promise<ApiKeyState | null> {
  const row = await db
    .selectFrom('credentials as c')
    .innerJoin('users as u', 'u.id', 'c.user_id')
    .select(['c.id as key_id', 'c.material', 'c.expires_at', 'u.id', 'u.username', 'u.roles', 'u.created_at', 'u.email', 'u.email_verified_at'])
    .where('c.id', '=', id)
    .where('c.kind', '=', 'api_key')
    .executeTakeFirst();
  if (row === undefined) return null;
  const material = readMaterial(row.material);
  return {
    id: row.key_id,
    scopes: material.scopes,
    expiresAt: row.expires_at === null ? null : toDate(row.expires_at).getTime(),
    revoked: material.revokedAt !== null,
    user: toUser(row),
  };
}

/**
 * Marks the given keys of `userId` (all of them when `keyId` is absent)
 * revoked, unless they already are; returns the ids it revoked. The row is
 * kept, so a revoked key is told apart from an unknown one (TOKEN_REVOKED).
 */
export async function revokeApiKeys(db: Db, userId: string, keyId: string | null, now: number): Promise<string[]> {
  const rows = keyId === null ? await listCredentials(db, userId, 'api_key') : [await findOwnCredential(db, userId, keyId, 'api_key')].filter((r) => r !== null);
  const revoked: string[] = [];
  for (const row of rows) {
    const material = readMaterial(row.material);
    if (material.revokedAt !== null) continue;
    const next: Material = { ...material, revokedAt: toTimestamp(now) };
    // expires_at becomes the time the key stopped working (if it was later): the pruner finds finished keys by it.
    const endsAt = row.expiresAt === null || row.expiresAt.getTime() > now ? toTimestamp(now) : toTimestamp(row.expiresAt.getTime());
    await db.updateTable('credentials').set({ material: JSON.stringify(next), expires_at: endsAt }).where('id', '=', row.id).execute();
    revoked.push(row.id);
  }
  return revoked;
}

/**
 * Deletes up to `limit` keys that stopped working (revoked or expired)
 * before `before`; returns how many went. Until then a revoked key still
 * answers TOKEN_REVOKED and an expired one TOKEN_EXPIRED; after, INVALID_TOKEN.
 */
export async function pruneFinishedApiKeys(db: Db, before: number, limit: number): Promise<number> {
  const finished = db.selectFrom('credentials').select('id').where('kind', '=', 'api_key').where('expires_at', '<', toTimestamp(before)).limit(limit);
  const result = await db.deleteFrom('credentials').where('id', 'in', finished).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Records that the keys were used in the minute `at` (never moving a later record back). */
export async function touchApiKeys(db: Db, ids: readonly string[], at: number): Promise<void> {
  if (ids.length === 0) return;
  const stamp = toTimestamp(at);
  await db
    .updateTable('credentials')
    .set({ last_used_at: stamp })
    .where('id', 'in', ids)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', stamp)]))
    .execute();
}
