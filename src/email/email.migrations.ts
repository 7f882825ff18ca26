import type { MigrationSet } from '../core/feature.js';
import { email } from './2026-12-01T00-02-email.migration.js';

/** The email feature's dated migrations. */
export const emailMigrations: MigrationSet = (dialect) => ({ '2026-12-01T00-02-email': email(dialect) });
