import type { Config } from '../config/config.js';
import { PasswordHasher } from '../credentials/password.js';
import { deriveKey } from '../credentials/secret-box.js';
import { openDatabase, pingDatabase, type Db } from '../db/database.js';
import { systemClock, type Clock } from '../platform/clock.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { createMetrics, type Metrics } from '../platform/metrics.js';
import { Pruner } from '../platform/pruner.js';
import { openRedis, type Redis } from '../platform/redis.js';
import { createEventBus, type AuthEventBus } from '../sessions/event-bus.js';
import { createSessionGuard } from '../sessions/guards/create-session-guard.js';
import type { SessionGuard } from '../sessions/session-guard.js';
import { SessionService } from '../sessions/session.service.js';
import { UserService } from '../users/user.service.js';
import { AuthRateLimits } from './rate-limits.js';

/** What the core may be given instead of its defaults (tests inject a clock, a logger, a database wrapper). */
export interface CoreDeps {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Wraps the database handle every part uses (service tests add a Kysely plugin that pauses or fails queries). */
  readonly wrapDb?: (db: Db) => Db;
}

/**
 * What every feature is built on: configuration, clock, logger, database,
 * Redis, metrics, the auth event bus, the one door for session-ending
 * writes, the login budgets, users and the pruner. Built once per app; no I/O
 * but opening handles until `connect`.
 */
export interface Core {
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The database handle every part uses (wrapped in service tests). */
  readonly db: Db;
  /** The handle as opened, for code that runs statements of its own on Kysely's connection (the fast refresh path). */
  readonly openedDb: Db;
  readonly redis: Redis | null;
  readonly metrics: Metrics;
  readonly bus: AuthEventBus;
  readonly guard: SessionGuard;
  /** The door (sessions/session.service.ts). */
  readonly sessions: SessionService;
  readonly rateLimits: AuthRateLimits;
  readonly hasher: PasswordHasher;
  readonly users: UserService;
  readonly pruner: Pruner;
  /**
   * A 32-byte key for one purpose, derived from JWT_SECRET with HKDF under
   * its own label, so one configured secret serves every purpose and no key
   * is used for two. Never from a signing key: a public key is public.
   */
  deriveKey(label: string): Buffer;
  /** Connects Redis (the server starts when it is down: sessions are then checked in the database) and the bus. */
  connect(): Promise<void>;
  /** Whether the database and Redis answer. */
  readiness(): Promise<Record<string, boolean>>;
  /** Closes the bus, the guard, Redis and the database; features and transports have stopped. */
  close(): Promise<void>;
}

/** Builds the core from a validated Config. */
export function createCore(config: Config, deps: CoreDeps = {}): Core {
  const secret = config.jwt.secret;
  if (secret === null) throw new Error('the core needs a JWT secret (main.ts supplies one in development)');
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const openedDb = openDatabase(config.database);
  const db = deps.wrapDb ? deps.wrapDb(openedDb) : openedDb;
  const redis = config.redis ? openRedis(config.redis.url) : null;
  const metrics = createMetrics();
  const bus = createEventBus(config, db, redis, logger);
  const guard = createSessionGuard(config, db, redis, logger);
  const sessions = new SessionService({ db, clock, guard, bus, logger });
  // Counted where the door announced it, whichever feature ended the sessions (other instances count their own).
  bus.subscribe((event, origin) => {
    if (origin === 'local' && event.type === 'sessions_ended') metrics.sessionsEnded.inc({ reason: event.reason }, event.sessionIds.length);
  });
  const rateLimits = new AuthRateLimits(
    config.rateLimits,
    logger,
    redis && config.redis ? { client: redis, prefix: config.redis.prefix } : null,
    config.subscriptions.connectionsPerAddress,
    (entry) => sessions.record(entry),
  );
  const hasher = new PasswordHasher(config.argon2, config.operations.hashConcurrency);
  const users = new UserService({ db, clock, hasher, userChanges: sessions, logger });
  const pruner = new Pruner({
    clock,
    logger,
    batchSize: config.operations.pruneBatchSize,
    interval: config.operations.pruneInterval,
    onPruned: (task, rows) => metrics.pruned.inc({ task }, rows),
  });
  return {
    config,
    clock,
    logger,
    db,
    openedDb,
    redis,
    metrics,
    bus,
    guard,
    sessions,
    rateLimits,
    hasher,
    users,
    pruner,
    deriveKey: (label) => deriveKey(secret, label),
    async connect() {
      if (redis) {
        await redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'Redis is not reachable at start-up; it is retried in the background'));
      }
      await bus.start();
    },
    async readiness(): Promise<Record<string, boolean>> {
      const [database, redisUp] = await Promise.all([pingDatabase(db), guard.ping()]);
      return config.redis ? { database, redis: redisUp } : { database };
    },
    async close() {
      await bus.close();
      await guard.close();
      redis?.disconnect();
      await db.destroy();
    },
  };
}
