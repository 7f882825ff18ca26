import path from 'node:path';
import { z } from 'zod';
import { int } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Where the data lives: an embedded SQLite file, or a PostgreSQL server. */
export type DatabaseConfig =
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string; readonly poolSize: number };

/** DATABASE_URL read: which database, before the pool size is known. */
export type DatabaseLocation = { readonly dialect: 'sqlite'; readonly file: string } | { readonly dialect: 'postgres'; readonly url: string };

/** DATABASE_URL: a PostgreSQL URL, or a SQLite file (`sqlite:PATH`, `file:PATH` or a bare path); unset, ./data/tokengate.sqlite. */
const databaseUrl = z
  .string()
  .min(1)
  .optional()
  .transform((url, ctx): DatabaseLocation => {
    if (url === undefined) return { dialect: 'sqlite', file: path.resolve('data', 'tokengate.sqlite') };
    if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url };
    // Any other scheme is a mistake (a typo in "postgres", another engine), not a file name.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(sqlite|file):/i.test(url)) {
      ctx.addIssue({ code: 'custom', message: `DATABASE_URL must be postgres://…, postgresql://…, sqlite:PATH or a file path (got scheme "${url.split(':')[0]}")` });
      return z.NEVER;
    }
    const file = url.replace(/^(sqlite|file):(\/\/)?/i, '');
    if (file === '') {
      ctx.addIssue({ code: 'custom', message: 'DATABASE_URL names no SQLite file' });
      return z.NEVER;
    }
    return { dialect: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
  });

const fields = {
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: int('DATABASE_POOL_SIZE', 1, 500).prefault('10'),
};

/** The folder for local state: the SQLite file's folder, or ./data (PostgreSQL, or SQLite in memory). */
export function dataDirOf(database: DatabaseLocation): string {
  return database.dialect === 'sqlite' && database.file !== ':memory:' ? path.dirname(database.file) : path.resolve('data');
}

/** DATABASE_URL and DATABASE_POOL_SIZE, and the data folder that follows from them. */
export const databaseSection: ConfigSection<typeof fields, { readonly database: DatabaseConfig; readonly dataDir: string }> = {
  title: 'Database',
  notes:
    'The data folder, where local state goes (the development `JWT_SECRET` and signing keys, the mail outbox without SMTP), is the SQLite file\'s folder; with PostgreSQL or `:memory:` it is `./data`.',
  fields,
  docs: {
    DATABASE_URL: {
      default: '`./data/tokengate.sqlite`',
      description:
        'SQLite file path (relative to the working directory), optionally prefixed `sqlite:` or `file:`; `:memory:` for a throwaway database. The file and its folder are created on first use, and the schema is migrated at every start. `postgres://…` or `postgresql://…` selects PostgreSQL (see [Running many instances](../operations/instances.md)); any other scheme is refused.',
    },
    DATABASE_POOL_SIZE: 'PostgreSQL connections per instance, 1–500.',
  },
  build: (e, context) => {
    const location = e.DATABASE_URL;
    return {
      database: Object.freeze(location.dialect === 'postgres' ? { ...location, poolSize: e.DATABASE_POOL_SIZE } : location),
      dataDir: context.dataDir,
    };
  },
};
