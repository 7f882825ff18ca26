import type { Migration } from 'kysely';
import { coreMigrations } from './db/migrations/index.js';
import { emailMigrations } from './email/index.js';
import { mfaMigrations } from './mfa/index.js';
import { socialMigrations } from './social/index.js';
import { passkeysMigrations } from './passkeys/index.js';

/**
 * Every migration of the core and the features, by dated name: what the
 * server and the admin CLI migrate to. A feature with tables adds its set here
 * (and on its Feature object); names are unique and sort in the order they run.
 */
export function allMigrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  const sets = [coreMigrations(dialect), emailMigrations(dialect), mfaMigrations(dialect), passkeysMigrations(dialect), socialMigrations(dialect)];
  const all: Record<string, Migration> = {};
  for (const set of sets) {
    for (const [name, migration] of Object.entries(set)) {
      if (name in all) throw new Error(`two migrations are named ${name}`);
      all[name] = migration;
    }
  }
  return all;
}
