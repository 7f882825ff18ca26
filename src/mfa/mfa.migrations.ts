import type { MigrationSet } from '../core/feature.js';
import { totp } from './2026-12-01T00-03-totp.migration.js';

/** The mfa feature's dated migrations. */
export const mfaMigrations: MigrationSet = (dialect) => ({ '2026-12-01T00-03-totp': totp(dialect) });
