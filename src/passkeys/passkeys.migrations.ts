import type { MigrationSet } from '../core/feature.js';
import { passkeyChallenges } from './2026-12-06T21-30-passkey-challenges.migration.js';

/** The passkeys feature's dated migrations. */
export const passkeysMigrations: MigrationSet = (dialect) => ({ '2026-12-06T21-30-passkey-challenges': passkeyChallenges(dialect) });
