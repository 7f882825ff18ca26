import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import type { RequestMeta } from '../../src/platform/request-meta.js';
import { createStorage, type Storage } from './backend.js';
import { ManualClock } from './clock.js';
import { QueryGate } from './query-gate.js';
import { testEnv } from './server.js';

/**
 * The services of a real tokengate (buildApp, started but not listening) on
 * real storage, with a hand-moved clock and a QueryGate on the database, so
 * service tests can drive races one query at a time.
 */
export interface ServiceHarness {
  readonly app: App;
  readonly services: App['services'];
  readonly gate: QueryGate;
  readonly clock: ManualClock;
  readonly storage: Storage;
  stop(): Promise<void>;
}

/** Request facts for service calls. */
export const META: RequestMeta = { userAgent: 'service-test', clientAddress: '127.0.0.1', requestId: 'service-test' };

/** A strong password that passes the policy. */
export const PASSWORD = 'correct horse battery staple';

/**
 * Builds and starts the services on fresh storage of the backend under test,
 * or on `options.storage` (several harnesses sharing one database and Redis
 * prefix play several instances). `fastRotations: false` sends every
 * refresh down the general path, whose queries the gate sees one by one.
 */
export async function startServices(
  env: Record<string, string> = {},
  options: { storage?: Storage; clock?: ManualClock; fastRotations?: boolean } = {},
): Promise<ServiceHarness> {
  const storage = options.storage ?? (await createStorage());
  const clock = options.clock ?? new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
  const gate = new QueryGate();
  const app = buildApp(loadConfig(testEnv(storage, env)), { clock, wrapDb: (db) => db.withPlugin(gate), fastRotations: options.fastRotations });
  await app.start();
  return {
    app,
    services: app.services,
    gate,
    clock,
    storage,
    async stop() {
      await app.stop();
      if (!options.storage) await storage.dispose();
    },
  };
}
