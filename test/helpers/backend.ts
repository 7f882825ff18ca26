import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * Which backend this test run uses. vitest.config.ts runs the integration
 * suite once per backend (projects "sqlite" and "postgres"), setting
 * TOKENGATE_TEST_BACKEND; the PostgreSQL URLs come from scripts/services.sh.
 */
export const BACKEND: 'sqlite' | 'postgres' = process.env.TOKENGATE_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** Where a test server keeps its data: a fresh SQLite folder, or a fresh PostgreSQL database and Redis prefix. */
export interface Storage {
  /** The environment that points a server at this storage. */
  readonly env: Readonly<Record<string, string>>;
  /** A folder for files (development secret, SQLite file). */
  readonly dir: string;
  /** Deletes everything. */
  dispose(): Promise<void>;
}

/** The PostgreSQL and Redis URLs of the test services, or an explanation of what is missing. */
export function serviceUrls(): { databaseUrl: string; redisUrl: string } {
  const databaseUrl = process.env.TOKENGATE_TEST_DATABASE_URL;
  const redisUrl = process.env.TOKENGATE_TEST_REDIS_URL;
  if (!databaseUrl || !redisUrl) {
    throw new Error('TOKENGATE_TEST_DATABASE_URL and TOKENGATE_TEST_REDIS_URL are not set: run eval "$(scripts/services.sh start)"');
  }
  return { databaseUrl, redisUrl };
}

/** Creates an empty database on the test PostgreSQL server and returns its URL. */
export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const { databaseUrl } = serviceUrls();
  const name = `tg_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Fresh storage for one test server (or several sharing it). */
export async function createStorage(backend: 'sqlite' | 'postgres' = BACKEND): Promise<Storage> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-test-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  if (backend === 'sqlite') {
    return { env: { DATABASE_URL: path.join(dir, 'tokengate.sqlite') }, dir, dispose: async () => removeDir() };
  }
  const { redisUrl } = serviceUrls();
  const database = await createDatabase();
  return {
    env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_PREFIX: `tg-test-${randomBytes(6).toString('hex')}:` },
    dir,
    dispose: async () => {
      await database.drop();
      removeDir();
    },
  };
}
