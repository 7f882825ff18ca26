import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { loadPg } from '../platform/lazy-packages.js';
import type { DatabaseConfig } from '../config/sections/database.section.js';
import type { Database } from './tables.js';

/** The application's database handle. */
export type Db = Kysely<Database>;

/** Opens the configured database. SQLite files (and their folder) are created on first use. */
export function openDatabase(config: DatabaseConfig): Db {
  switch (config.dialect) {
    case 'sqlite': {
      if (config.file !== ':memory:') mkdirSync(path.dirname(config.file), { recursive: true });
      const sqlite = new SQLite(config.file);
      // WAL: readers never wait for the writer; NORMAL sync is durable across
      // process crashes in WAL mode. busy_timeout covers a second process (the
      // user:create CLI) writing at the same time.
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('busy_timeout = 5000');
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
      const dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
      externalChangeCounters.set(db, oncePerTurn(() => dataVersion.get() as number));
      sqliteHandles.set(db, sqlite);
      return db;
    }
    case 'postgres': {
      const pool = new (loadPg().Pool)({
        connectionString: config.url,
        max: config.poolSize,
        // Fail fast while PostgreSQL is away, instead of queueing requests for minutes.
        connectionTimeoutMillis: 3_000,
        idleTimeoutMillis: 30_000,
        statement_timeout: 10_000,
        application_name: 'tokengate',
      });
      // A dropped idle connection (server restart) is reported here; without a
      // listener it would crash the process. The pool replaces it on next use.
      pool.on('error', () => {});
      // pg-pool listens for errors on idle clients only: a checked-out client
      // whose connection drops between two statements (a server restart in
      // the middle of a transaction, or of the mail outbox's pass) would emit
      // an unhandled 'error' and crash the process. Its next statement fails
      // instead, and the pool discards it on release (it is no longer queryable).
      pool.on('connect', (client) => client.on('error', () => {}));
      return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    }
    default: {
      const unreachable: never = config;
      throw new Error(`Unknown database config: ${JSON.stringify(unreachable)}`);
    }
  }
}

const externalChangeCounters = new WeakMap<Db, () => number>();

/**
 * `read`, called at most once per turn of the event loop: the requests read
 * from their sockets in one turn share the first one's answer, and the next
 * turn (after setImmediate, so after every I/O callback of this one) reads
 * again. For data_version that is exact for what a client can observe,
 * for requests that wait for their answer (HTTP/1.1 without pipelining, as
 * browsers and Apollo Client send them): one sent after another process's
 * commit returned is read in a later turn than the check. A pipelined
 * request read in the same turn may be answered from the state at that
 * turn's start, a few milliseconds at most. Measured
 * with bench/ab.mjs on \`protected\` (4 interleaved rounds): the pragma once
 * per request cost about 20 µs of CPU (it begins and ends a read
 * transaction, with the WAL-index locks), 15 % of the request.
 */
function oncePerTurn(read: () => number): () => number {
  let value: number | null = null;
  return () => {
    if (value === null) {
      value = read();
      setImmediate(() => (value = null));
    }
    return value;
  };
}
const sqliteHandles = new WeakMap<Db, SQLite.Database>();

/**
 * For an SQLite database: the better-sqlite3 handle under Kysely, for the
 * few statements run synchronously (the refresh rotation). Use it only
 * inside `db.connection().execute(…)`, which holds Kysely's one connection,
 * so no Kysely transaction is open around it. Null for PostgreSQL.
 */
export function sqliteHandle(db: Db): SQLite.Database | null {
  return sqliteHandles.get(db) ?? null;
}

/**
 * For an SQLite database: a function whose value changes whenever another
 * connection (another process, such as the admin CLI) has committed to the
 * file since the last call — SQLite's `PRAGMA data_version`, read at most
 * once per turn of the event loop (see oncePerTurn). Null for PostgreSQL.
 */
export function externalChangeCounter(db: Db): (() => number) | null {
  return externalChangeCounters.get(db) ?? null;
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing is a good
 * part of a short query's cost (a refresh runs eight). Our queries come from
 * a fixed set of builders, so their SQL texts are few: keep each prepared
 * statement and reuse it. Safe because Kysely runs one statement at a time on
 * the connection and we never stream results.
 */
function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText) {
      // Kysely opens transactions with a deferred BEGIN. Ours all write, and a
      // deferred one that reads first fails at its first write with
      // SQLITE_BUSY, without waiting, when another process (a second
      // instance, the admin CLI) committed in between; IMMEDIATE takes the
      // write lock up front, waiting up to busy_timeout for it.
      const text = sqlText === 'begin' ? 'begin immediate' : sqlText;
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = sqlite.prepare(text);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * Brings the schema up to date; run at every start-up before serving. Safe
 * when several instances start at once: Kysely's migrator takes a lock (a
 * row lock on PostgreSQL) so only one of them migrates.
 */
export async function migrateToLatest(db: Db, migrations: Record<string, Migration>): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  }
}

/** Whether the database answers a trivial query. */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
