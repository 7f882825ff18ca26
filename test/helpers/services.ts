import { composeFeatures } from '../../src/app.js';
import type { Core } from '../../src/core/core.js';
import type { OutboxWorker } from '../../src/email/index.js';
import type { RequestMeta } from '../../src/platform/request-meta.js';
import type { Storage } from './backend.js';
import type { ManualClock } from './clock.js';
import { startCore } from './core.js';
import { QueryGate } from './query-gate.js';

/**
 * The core and the features of a real tokengate, without the transports (no
 * Apollo, no HTTP server), on real storage, with a hand-moved clock and a
 * QueryGate on the database, so service tests can drive races one query at
 * a time. (test/helpers/core.ts has the core alone, for one feature.)
 */
export interface ServiceHarness {
  readonly core: Core;
  readonly services: ReturnType<typeof composeFeatures>['services'];
  /** The mail outbox worker (null when mail is disabled). */
  readonly outbox: OutboxWorker | null;
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
 * Builds the core and the features (buildApp's first two stages) and starts
 * them on fresh storage of the backend under test, or on `options.storage`
 * (several harnesses sharing one database and Redis prefix play several
 * instances). `fastRotations: false` sends every refresh down the general
 * path, whose queries the gate sees one by one.
 */
export async function startServices(
  env: Record<string, string> = {},
  options: { storage?: Storage; clock?: ManualClock; fastRotations?: boolean } = {},
): Promise<ServiceHarness> {
  const gate = new QueryGate();
  const base = await startCore(env, { ...options, wrapDb: (db) => db.withPlugin(gate) });
  const { features, services, email } = composeFeatures(base.core, options.fastRotations !== undefined ? { fastRotations: options.fastRotations } : {});
  for (const feature of features) await feature.start?.();
  return {
    core: base.core,
    services,
    outbox: email.outbox,
    gate,
    clock: base.clock,
    storage: base.storage,
    async stop() {
      for (const feature of [...features].reverse()) await feature.stop?.();
      await base.stop();
    },
  };
}
