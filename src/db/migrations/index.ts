import type { Migration } from 'kysely';
import { initial } from './2026-11-28T00-00-initial.js';
import { pruneIndexes } from './2026-12-01T00-00-prune-indexes.js';
import { credentials } from './2026-12-06T00-00-credentials.js';
import { auditAndCredentialLookup } from './2026-12-06T01-00-audit-and-credential-lookup.js';

/**
 * The core's migrations (users, sessions, refresh tokens, credentials, the audit trail), by
 * dated name. Features bring their own (src/<feature>/*.migration.ts);
 * src/migrations.ts lists them all, and Kysely runs them in name order.
 */
export function coreMigrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  return {
    '2026-11-28T00-00-initial': initial(dialect),
    '2026-12-01T00-00-prune-indexes': pruneIndexes(),
    '2026-12-06T00-00-credentials': credentials(dialect),
    '2026-12-06T01-00-audit-and-credential-lookup': auditAndCredentialLookup(dialect),
  };
}
