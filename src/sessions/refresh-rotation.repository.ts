import type SQLite from 'better-sqlite3';
import { sql, type Selectable } from 'kysely';
import { sqliteHandle, type Db } from '../db/database.js';
import { toTimestamp, type SessionTable } from '../db/tables.js';
import { toSession } from './session.repository.js';
import type { Session } from './session.js';

/** One rotation of a live refresh token: the presented token's hash, its successor's, and the session's new expiry. */
export interface RotationInput {
  readonly hash: string;
  readonly nextHash: string;
  readonly now: number;
  readonly expiresAt: number;
  /** When given, a token of a session this refuses is left alone (the cookie mode's CSRF check, before any write). */
  readonly belongs?: ((sessionId: string) => boolean) | undefined;
}

/**
 * The common case of a refresh, in one step: the presented token is the
 * session's live one and the session is open, so the session advances one
 * generation, the token is marked used and its successor stored, atomically.
 * Answers the session as it is after the rotation, or null when the common
 * case does not apply (unknown or used token, a racer won, the session ended
 * or expired): the caller then takes the general path, which decides between
 * the grace window, theft and an invalid token, and has every rule.
 */
export interface FastRotations {
  rotate(input: RotationInput): Promise<Session | null>;
}

/** At most this many rotations share one commit. */
const MAX_BATCH = 64;

/** What one rotation of a batch came to: its session, null (declined), or the error it threw. */
type Outcome = Session | null | { readonly error: unknown };

interface Pending {
  readonly input: RotationInput;
  readonly resolve: (session: Session | null) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The rotation on SQLite: four prepared statements run synchronously on the
 * one connection, and the rotations that arrive in the same turn of the
 * event loop share one transaction (a group commit), each in its own
 * savepoint, so one failing leaves the others in place.
 *
 * Why: through Kysely a rotation was five built-and-compiled queries with an
 * await between each, holding the connection across them, and a commit of
 * its own; the commit (writing the touched pages to the WAL) was the largest
 * single cost, and building the queries the second (docs/benchmarks.md).
 *
 * Durability: a promise resolves only after the COMMIT that contains its
 * rotation returned. In WAL mode with synchronous=NORMAL a commit is in the
 * operating system's hands at that point, so an acknowledged rotation
 * survives the process being killed (kill -9); only a power cut or kernel
 * crash before the next checkpoint can lose the last commits (SQLite's
 * documented trade-off for NORMAL; `synchronous = FULL` would fsync every
 * commit). The cost of batching is at most one turn of the event loop of
 * latency for the first rotation in a batch.
 */
class SqliteRotations implements FastRotations {
  readonly #db: Db;
  readonly #sqlite: SQLite.Database;
  /** Prepared on first use: the tables exist only once the app has migrated. */
  #statements: ReturnType<typeof prepare> | null = null;
  readonly #one: (input: RotationInput) => Session | null;
  readonly #batch: SQLite.Transaction<(batch: readonly Pending[], results: Outcome[]) => void>;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(db: Db, sqlite: SQLite.Database) {
    this.#db = db;
    this.#sqlite = sqlite;
    // Nested in the batch's transaction, better-sqlite3 runs this one as a savepoint.
    this.#one = sqlite.transaction((input: RotationInput) => this.#rotateOne(input));
    this.#batch = sqlite.transaction((batch: readonly Pending[], results: Outcome[]) => {
      for (const { input } of batch) {
        try {
          results.push(this.#one(input));
        } catch (error) {
          results.push({ error });
        }
      }
    });
  }

  rotate(input: RotationInput): Promise<Session | null> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the I/O phase: every request read in this turn joins the batch.
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // The connection: no Kysely transaction (signup, a door write) is open while ours runs.
        await this.#db.connection().execute(async () => {
          const batch = this.#queue.splice(0, MAX_BATCH);
          const results: Outcome[] = [];
          try {
            // IMMEDIATE: the write lock up front, waiting up to busy_timeout while another process writes (see withStatementCache).
            this.#batch.immediate(batch, results);
          } catch (error) {
            // The commit itself failed: none of the batch happened.
            for (const p of batch) p.reject(error);
            return;
          }
          batch.forEach((p, i) => {
            const result = results[i];
            if (result !== null && result !== undefined && 'error' in result) p.reject(result.error);
            else p.resolve(result ?? null);
          });
        });
      }
    } catch (error) {
      // The connection could not be had (the database is closing): fail what waits.
      for (const p of this.#queue.splice(0)) p.reject(error);
    } finally {
      this.#scheduled = false;
      if (this.#queue.length > 0) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    }
  }

  #rotateOne({ hash, nextHash, now, expiresAt, belongs }: RotationInput): Session | null {
    const s = (this.#statements ??= prepare(this.#sqlite));
    const live = s.findLive.get(hash) as { session_id: string; generation: number } | undefined;
    if (live === undefined || (belongs !== undefined && !belongs(live.session_id))) return null;
    const at = toTimestamp(now);
    const row = s.advance.get(at, toTimestamp(expiresAt), live.session_id, live.generation, at) as Selectable<SessionTable> | undefined;
    if (row === undefined) return null;
    s.markUsed.run(at, hash);
    s.insertNext.run(nextHash, live.session_id, live.generation + 1, at);
    return toSession(row);
  }
}

/** The statements of one rotation, the same conditions as the general path's (session.repository.ts). */
function prepare(sqlite: SQLite.Database) {
  return {
    // A live token: never used. Its generation must still be the session's (checked by the update).
    findLive: sqlite.prepare('select "session_id", "generation" from "refresh_tokens" where "token_hash" = ? and "used_at" is null'),
    // The compare-and-set of advanceRefreshGeneration, plus the session being open at `now`.
    advance: sqlite.prepare(
      'update "sessions" set "refresh_generation" = "refresh_generation" + 1, "last_used_at" = ?, "expires_at" = ? ' +
        'where "id" = ? and "refresh_generation" = ? and "ended_at" is null and "expires_at" > ? returning *',
    ),
    markUsed: sqlite.prepare('update "refresh_tokens" set "used_at" = ? where "token_hash" = ?'),
    insertNext: sqlite.prepare('insert into "refresh_tokens" ("token_hash", "session_id", "generation", "created_at", "used_at") values (?, ?, ?, ?, null)'),
  };
}

/**
 * The rotation on PostgreSQL: one statement, so one round trip and no
 * explicit transaction (a statement is atomic), instead of seven (BEGIN,
 * five queries, COMMIT). Its data-modifying CTEs all see one snapshot; the
 * session's UPDATE is the compare-and-set: a parallel rotation of the same
 * token waits for the first one's row lock, then finds the generation moved
 * and updates nothing, so the marking and the insert (which depend on it)
 * do nothing either, and it declines to the general path (the grace window).
 * A CSRF check needs the session before any write, which one statement
 * cannot call out for: cookie refreshes take the general path here.
 */
class PostgresRotations implements FastRotations {
  constructor(private readonly db: Db) {}

  async rotate({ hash, nextHash, now, expiresAt, belongs }: RotationInput): Promise<Session | null> {
    if (belongs !== undefined) return null;
    const at = toTimestamp(now);
    const { rows } = await sql<Selectable<SessionTable>>`
      with live as (
        select session_id, generation from refresh_tokens where token_hash = ${hash} and used_at is null
      ), advanced as (
        update sessions set refresh_generation = sessions.refresh_generation + 1, last_used_at = ${at}::timestamptz, expires_at = ${toTimestamp(expiresAt)}::timestamptz
        from live
        where sessions.id = live.session_id and sessions.refresh_generation = live.generation
          and sessions.ended_at is null and sessions.expires_at > ${at}::timestamptz
        returning sessions.*
      ), used as (
        update refresh_tokens set used_at = ${at}::timestamptz where token_hash = ${hash} and exists (select 1 from advanced)
      ), inserted as (
        insert into refresh_tokens (token_hash, session_id, generation, created_at, used_at)
        select ${nextHash}, id, refresh_generation, ${at}::timestamptz, null from advanced
      )
      select * from advanced`.execute(this.db);
    const row = rows[0];
    return row === undefined ? null : toSession(row);
  }
}

/** The one-step rotation for a database of this dialect, as openDatabase opened it. */
export function createFastRotations(db: Db, dialect: 'sqlite' | 'postgres'): FastRotations {
  if (dialect === 'postgres') return new PostgresRotations(db);
  const sqlite = sqliteHandle(db);
  if (sqlite === null) throw new Error('createFastRotations needs the SQLite database as openDatabase returned it (not a wrapped one)');
  return new SqliteRotations(db, sqlite);
}
