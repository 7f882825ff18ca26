import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import { toDate, toTimestamp, type UserTable } from '../db/tables.js';
import { normalizeRoles, usernameKey, type Role, type User } from './user.js';

type UserRow = Selectable<UserTable>;

/** Maps a users row to the domain User: the one place that does. */
export function toUser(row: Pick<UserRow, 'id' | 'username' | 'roles' | 'created_at' | 'email' | 'email_verified_at'>): User {
  return {
    id: row.id,
    username: row.username,
    roles: normalizeRoles(JSON.parse(row.roles) as Role[]),
    createdAt: toDate(row.created_at),
    email: row.email,
    emailVerified: row.email_verified_at !== null,
  };
}

/** The columns toUser reads. */
export const PUBLIC_COLUMNS = ['id', 'username', 'roles', 'created_at', 'email', 'email_verified_at'] as const;

/** Inserts a user; throws the driver's unique-violation error when the username (or address) is taken. */
export async function insertUser(
  db: Db,
  user: { id: string; username: string; roles: readonly Role[]; now: number; email?: { email: string; key: string } | null },
): Promise<User> {
  const row = await db
    .insertInto('users')
    .values({
      id: user.id,
      username: user.username,
      username_key: usernameKey(user.username),
      roles: JSON.stringify(normalizeRoles(user.roles)),
      created_at: toTimestamp(user.now),
      updated_at: toTimestamp(user.now),
      email: user.email?.email ?? null,
      email_key: user.email?.key ?? null,
      email_verified_at: null,
    })
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirstOrThrow();
  return toUser(row);
}

/** Finds a user by username (case-insensitively). */
export async function findUserByUsername(db: Db, username: string): Promise<User | null> {
  const row = await db.selectFrom('users').select(PUBLIC_COLUMNS).where('username_key', '=', usernameKey(username)).executeTakeFirst();
  return row ? toUser(row) : null;
}

/** Finds a user by id. */
export async function findUserById(db: Db, id: string): Promise<User | null> {
  const row = await db.selectFrom('users').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toUser(row) : null;
}

/** Replaces a user's roles; null when there is no such user. */
export async function updateRoles(db: Db, id: string, roles: readonly Role[], now: number): Promise<User | null> {
  const row = await db
    .updateTable('users')
    .set({ roles: JSON.stringify(normalizeRoles(roles)), updated_at: toTimestamp(now) })
    .where('id', '=', id)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row ? toUser(row) : null;
}

/** A position in the signup order, used as the pagination cursor. */
export interface UserCursor {
  readonly createdAt: string;
  readonly id: string;
}

/** One page of users in signup order, after `cursor`; fetches one extra row to tell whether more exist. */
export async function listUsers(
  db: Db,
  page: { first: number; after: UserCursor | null },
): Promise<{ users: User[]; hasNextPage: boolean }> {
  let query = db.selectFrom('users').select(PUBLIC_COLUMNS).orderBy('created_at').orderBy('id').limit(page.first + 1);
  if (page.after) {
    const { createdAt, id } = page.after;
    query = query.where((eb) =>
      eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]),
    );
  }
  const rows = await query.execute();
  return { users: rows.slice(0, page.first).map(toUser), hasNextPage: rows.length > page.first };
}

/** How many users exist. */
export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
}

/** How many users hold the ADMIN role. */
export async function countAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .where('roles', 'like', '%"ADMIN"%')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Finds a user by address key. */
export async function findUserByEmailKey(db: Db, key: string): Promise<User | null> {
  const row = await db.selectFrom('users').select(PUBLIC_COLUMNS).where('email_key', '=', key).executeTakeFirst();
  return row ? toUser(row) : null;
}

/** Replaces a user's address (unverified); throws the driver's unique-violation error when it is taken. */
export async function updateEmail(db: Db, id: string, email: { email: string; key: string }, verified: boolean, now: number): Promise<User | null> {
  const row = await db
    .updateTable('users')
    .set({ email: email.email, email_key: email.key, email_verified_at: verified ? toTimestamp(now) : null, updated_at: toTimestamp(now) })
    .where('id', '=', id)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row ? toUser(row) : null;
}

/** Marks the user's address verified, if it still is the one with key `key`; the user as left, or null. */
export async function markEmailVerified(db: Db, id: string, key: string, now: number): Promise<User | null> {
  const row = await db
    .updateTable('users')
    .set({ email_verified_at: sql<string>`coalesce(email_verified_at, ${toTimestamp(now)})`, updated_at: toTimestamp(now) })
    .where('id', '=', id)
    .where('email_key', '=', key)
    .returning(PUBLIC_COLUMNS)
    .executeTakeFirst();
  return row ? toUser(row) : null;
}
