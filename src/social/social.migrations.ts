import type { MigrationSet } from '../core/feature.js';
import { oauthFlows } from './2026-12-06T02-00-oauth-flows.migration.js';

/** The social sign-in feature's dated migrations. */
export const socialMigrations: MigrationSet = (dialect) => ({ '2026-12-06T02-00-oauth-flows': oauthFlows(dialect) });
