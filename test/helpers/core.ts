import { createCore, type Core } from '../../src/core/core.js';
import { loadConfig } from '../../src/config/config.js';
import { migrateToLatest } from '../../src/db/database.js';
import { allMigrations } from '../../src/migrations.js';
import { createStorage, type Storage } from './backend.js';
import { ManualClock } from './clock.js';
import { testEnv } from './server.js';

/** The core alone, connected and migrated, on fresh storage of the backend under test: service tests compose one feature on it. */
export interface CoreHarness {
  readonly core: Core;
  readonly clock: ManualClock;
  stop(): Promise<void>;
}

/** Builds the core (no features, no transports) the way buildApp's first stage does. */
export async function startCore(env: Record<string, string> = {}): Promise<CoreHarness> {
  const storage: Storage = await createStorage();
  const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
  const config = loadConfig(testEnv(storage, env));
  const core = createCore(config, { clock });
  await core.connect();
  await migrateToLatest(core.db, allMigrations(config.database.dialect));
  return {
    core,
    clock,
    async stop() {
      await core.close();
      await storage.dispose();
    },
  };
}
