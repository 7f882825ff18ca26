import { createRequire } from 'node:module';
import type * as PgModule from 'pg';
import type * as IoredisModule from 'ioredis';

/*
 * The PostgreSQL and Redis clients, loaded when a part first needs them
 * (PostgreSQL or Redis configured), not at start-up: an SQLite start never
 * loads them. Both are CommonJS, so a synchronous require keeps the code that
 * opens them synchronous; the build leaves them in node_modules (they are
 * also what tracing instruments, through this require).
 */
const load = createRequire(import.meta.url);

/** node-postgres, at first use. */
export function loadPg(): typeof PgModule {
  return load('pg') as typeof PgModule;
}

/** ioredis, at first use. */
export function loadIoredis(): typeof IoredisModule {
  return load('ioredis') as typeof IoredisModule;
}
