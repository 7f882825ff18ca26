import type { Migration } from 'kysely';
import { initial } from './2026-11-28T00-00-initial.js';
import { pruneIndexes } from './2026-12-01T00-00-prune-indexes.js';
import { email } from '../../email/2026-12-01T00-02-email.migration.js';
import { totp } from '../../mfa/2026-12-01T00-03-totp.migration.js';
import { credentials } from './2026-12-06T00-00-credentials.js';

/** Every migration, by dated name; Kysely runs them in name order. */
export function migrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  return {
    '2026-11-28T00-00-initial': initial(dialect),
    '2026-12-01T00-00-prune-indexes': pruneIndexes(),
    '2026-12-01T00-02-email': email(dialect),
    '2026-12-01T00-03-totp': totp(dialect),
    '2026-12-06T00-00-credentials': credentials(dialect),
  };
}
