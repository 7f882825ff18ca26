import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import { toDate, toTimestamp, type RefreshTokenTable, type SessionTable } from '../db/tables.js';
import { toUser } from '../users/user.repository.js';
import type { User } from '../users/user.js';
import type { Session, SessionCheck, SessionEndReason } from './session.js';

export function toSession(row: Selectable<SessionTable>): Session {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: toDate(row.created_at),
    lastUsedAt: toDate(row.last_used_at),
    expiresAt: toDate(row.expires_at),
    endedAt: row.ended_at === null ? null : toDate(row.ended_at),
    userAgent: row.user_agent,
    refreshGeneration: row.refresh_generation,
    amr: parseAmr(row.amr),
  };
}

function parseAmr(text: string | null): readonly string[] | null {
  if (text === null) return null;
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) && value.every((m) => typeof m === 'string') ? value : null;
}

/** Creates a session with its first refresh token (generation 0). */
export async function insertSession(
  db: Db,
  s: { id: string; userId: string; userAgent: string | null; now: number; expiresAt: number; refreshTokenHash: string; amr: readonly string[] },
): Promise<Session> {
  const row = await db
    .insertInto('sessions')
    .values({
      id: s.id,
      user_id: s.userId,
      created_at: toTimestamp(s.now),
      last_used_at: toTimestamp(s.now),
      expires_at: toTimestamp(s.expiresAt),
      ended_at: null,
      end_reason: null,
      user_agent: s.userAgent,
      refresh_generation: 0,
      amr: JSON.stringify(s.amr),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await insertRefreshToken(db, { hash: s.refreshTokenHash, sessionId: s.id, generation: 0, now: s.now });
  return toSession(row);
}

/** Finds a session by id, active or not. */
export async function findSessionById(db: Db, id: string): Promise<Session | null> {
  const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSession(row) : null;
}

/** What the per-request check needs: is the session open, and who is its user now. One indexed query. */
export async function findSessionState(db: Db, id: string): Promise<{ userId: string; ended: boolean; user: User } | null> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.user_id', 's.ended_at', 'u.id', 'u.username', 'u.roles', 'u.created_at', 'u.email', 'u.email_verified_at'])
    .where('s.id', '=', id)
    .executeTakeFirst();
  return row ? { userId: row.user_id, ended: row.ended_at !== null, user: toUser(row) } : null;
}

/**
 * The per-request check read straight from the database: one indexed query,
 * always current. Shared by every guard that falls back to the database.
 */
export async function readSessionCheck(db: Db, sessionId: string, userId: string): Promise<SessionCheck> {
  const row = await findSessionState(db, sessionId);
  if (row === null || row.ended || row.userId !== userId) return { active: false };
  return { active: true, user: row.user };
}

/** The user's sessions that have not ended or expired, newest first. */
export async function listActiveSessions(db: Db, userId: string, now: number): Promise<Session[]> {
  const rows = await db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', toTimestamp(now))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toSession);
}

/**
 * Ends the matching active sessions and returns their ids. `except` keeps one
 * session alive (changePassword keeps the caller's).
 */
export async function endSessions(
  db: Db,
  filter: { userId: string; sessionId?: string; except?: string },
  reason: SessionEndReason,
  now: number,
): Promise<string[]> {
  let query = db
    .updateTable('sessions')
    .set({ ended_at: toTimestamp(now), end_reason: reason })
    .where('user_id', '=', filter.userId)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', toTimestamp(now));
  if (filter.sessionId !== undefined) query = query.where('id', '=', filter.sessionId);
  if (filter.except !== undefined) query = query.where('id', '!=', filter.except);
  const rows = await query.returning('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Moves a session to its next refresh generation, but only if it is still at
 * `fromGeneration` and active: the compare-and-set that lets exactly one of
 * many parallel refreshes win, on any dialect, without an in-process lock.
 */
export async function advanceRefreshGeneration(
  db: Db,
  s: { id: string; fromGeneration: number; now: number; expiresAt: number },
): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({
      refresh_generation: s.fromGeneration + 1,
      last_used_at: toTimestamp(s.now),
      expires_at: toTimestamp(s.expiresAt),
    })
    .where('id', '=', s.id)
    .where('refresh_generation', '=', s.fromGeneration)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A stored refresh token. */
export interface StoredRefreshToken {
  readonly hash: string;
  readonly sessionId: string;
  readonly generation: number;
  readonly usedAt: Date | null;
}

function toStoredRefreshToken(row: Selectable<RefreshTokenTable>): StoredRefreshToken {
  return {
    hash: row.token_hash,
    sessionId: row.session_id,
    generation: row.generation,
    usedAt: row.used_at === null ? null : toDate(row.used_at),
  };
}

/** Stores a refresh token's hash. */
export async function insertRefreshToken(
  db: Db,
  t: { hash: string; sessionId: string; generation: number; now: number },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({ token_hash: t.hash, session_id: t.sessionId, generation: t.generation, created_at: toTimestamp(t.now), used_at: null })
    .execute();
}

/** Finds a refresh token by its hash. */
export async function findRefreshToken(db: Db, hash: string): Promise<StoredRefreshToken | null> {
  const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  return row ? toStoredRefreshToken(row) : null;
}

/** Finds the refresh token of a session's given generation. */
export async function findRefreshTokenByGeneration(db: Db, sessionId: string, generation: number): Promise<StoredRefreshToken | null> {
  const row = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('generation', '=', generation)
    .executeTakeFirst();
  return row ? toStoredRefreshToken(row) : null;
}

/** Records the first use of a refresh token (later uses keep the first time: the grace window counts from it). */
export async function markRefreshTokenUsed(db: Db, hash: string, now: number): Promise<void> {
  await db.updateTable('refresh_tokens').set({ used_at: toTimestamp(now) }).where('token_hash', '=', hash).where('used_at', 'is', null).execute();
}

/**
 * Starts a new refresh chain for a session whose token is `hash` (after a
 * password change the caller gets a new pair). The old chain's tokens are
 * deleted rather than marked used: presenting one later is simply invalid,
 * not theft, since the session itself is in good hands.
 */
export async function restartRefreshChain(
  db: Db,
  s: { sessionId: string; fromGeneration: number; hash: string; now: number; expiresAt: number },
): Promise<boolean> {
  const advanced = await advanceRefreshGeneration(db, { id: s.sessionId, fromGeneration: s.fromGeneration, now: s.now, expiresAt: s.expiresAt });
  if (!advanced) return false;
  await db.deleteFrom('refresh_tokens').where('session_id', '=', s.sessionId).execute();
  await insertRefreshToken(db, { hash: s.hash, sessionId: s.sessionId, generation: s.fromGeneration + 1, now: s.now });
  return true;
}

/*
 * Pruning (docs/api.md, "Operations"). Each call deletes at most `limit`
 * rows in one short statement (its own transaction), found through an index,
 * so no call holds a table for long; the pruner calls again until a call
 * deletes fewer than `limit`.
 */

/** Deletes up to `limit` refresh tokens first used before `usedBefore`; returns how many. */
export async function pruneUsedRefreshTokens(db: Db, usedBefore: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('refresh_tokens')
    .where('token_hash', 'in', db.selectFrom('refresh_tokens').select('token_hash').where('used_at', '<', toTimestamp(usedBefore)).limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes up to `limit` sessions that ended (`which: 'ended'`) or expired
 * (`'expired'`) before `before`, with their refresh tokens; returns how many sessions.
 */
export async function pruneSessions(db: Db, which: 'ended' | 'expired', before: number, limit: number): Promise<number> {
  const column = which === 'ended' ? 'ended_at' : 'expires_at';
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('sessions').select('id').where(column, '<', toTimestamp(before)).limit(limit).execute();
    if (rows.length === 0) return 0;
    const ids = rows.map((r) => r.id);
    // Explicitly rather than by ON DELETE CASCADE: the same rows, by their index, in the same short transaction.
    await trx.deleteFrom('refresh_tokens').where('session_id', 'in', ids).execute();
    const result = await trx.deleteFrom('sessions').where('id', 'in', ids).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

/** Finds sessions by id, active or not (an ended session's last state, for its ENDED event). */
export async function findSessionsByIds(db: Db, ids: readonly string[]): Promise<Session[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('sessions').selectAll().where('id', 'in', [...ids]).execute();
  return rows.map(toSession);
}
