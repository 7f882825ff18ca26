import { createCore, type Core } from '../../src/core/core.js';
import { loadConfig } from '../../src/config/config.js';
import type { Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/database.js';
import { allMigrations } from '../../src/migrations.js';
import { createStorage, type Storage } from './backend.js';
import { ManualClock } from './clock.js';
import { testEnv } from './server.js';

/** The core alone, connected and migrated, on real storage: service tests compose features on it. */
export interface CoreHarness {
  readonly core: Core;
  readonly clock: ManualClock;
  readonly storage: Storage;
  /** Closes the core; disposes the storage when the harness made it. */
  stop(): Promise<void>;
}

/**
 * Builds the core (no features, no transports) the way buildApp's first
 * stage does, on fresh storage of the backend under test or on
 * `options.storage` (several harnesses sharing one database play several
 * instances); `wrapDb` wraps its database handle (a QueryGate).
 */
export async function startCore(
  env: Record<string, string> = {},
  options: { storage?: Storage; clock?: ManualClock; wrapDb?: (db: Db) => Db } = {},
): Promise<CoreHarness> {
  const storage = options.storage ?? (await createStorage());
  const clock = options.clock ?? new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
  const config = loadConfig(testEnv(storage, env));
  const core = createCore(config, { clock, ...(options.wrapDb ? { wrapDb: options.wrapDb } : {}) });
  await core.connect();
  await migrateToLatest(core.db, allMigrations(config.database.dialect));
  return {
    core,
    clock,
    storage,
    async stop() {
      await core.close();
      if (!options.storage) await storage.dispose();
    },
  };
}
