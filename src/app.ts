import { hkdfSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { GraphQLSchema } from 'graphql';
import { AccessTokens } from './tokens/access-token.js';
import { createSessionGuard } from './sessions/guards/create-session-guard.js';
import { AuthService } from './auth/auth.service.js';
import { SessionService } from './sessions/session.service.js';
import { PasswordHasher } from './credentials/password.js';
import { AuthRateLimits } from './auth/rate-limits.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { Config } from './config/config.js';
import { migrateToLatest, openDatabase, pingDatabase, type Db } from './db/database.js';
import { createContextBuilder, type GraphQLContext } from './graphql/context.js';
import { formatError, isExpectedError } from './graphql/format-error.js';
import { buildSchema } from './graphql/schema.js';
import { createRequestHandler } from './http/request-handler.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { Pruner } from './platform/pruner.js';
import { metricsPlugin } from './graphql/metrics-plugin.js';
import { sessionPruneTasks } from './sessions/session-prune-tasks.js';
import { openRedis } from './platform/redis.js';
import { UserService } from './users/user.service.js';

/** What buildApp may be given instead of its defaults (tests inject a clock, a logger or a schema). */
export interface AppDeps {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly schema?: GraphQLSchema;
  /** Wraps the database handle every part uses (service tests add a Kysely plugin that pauses or fails queries). */
  readonly wrapDb?: (db: Db) => Db;
}

/** A built, not yet listening, tokengate. */
export interface App {
  readonly server: Server;
  readonly db: Db;
  readonly logger: Logger;
  readonly services: { readonly auth: AuthService; readonly users: UserService; readonly sessions: SessionService };
  /** This app's Prometheus registry and series (other transports set wsConnections and the mail queue source). */
  readonly metrics: Metrics;
  /** The background pruner; features register their PruneTasks before start(). */
  readonly pruner: Pruner;
  /** Migrates the database, starts Apollo and creates the bootstrap admin. */
  start(): Promise<void>;
  /** Listens on the given port (0 for a free one); resolves to the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  stop(): Promise<void>;
}

/**
 * Wires tokengate together from a validated Config. No I/O happens here but
 * opening the database handle; start() does the rest, so tests can build an
 * app and choose when (and on which port) it serves.
 */
export function buildApp(config: Config, deps: AppDeps = {}): App {
  const secret = config.jwt.secret;
  if (secret === null) throw new Error('buildApp needs a JWT secret (main.ts supplies one in development)');
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const opened = openDatabase(config.database);
  const db = deps.wrapDb ? deps.wrapDb(opened) : opened;

  const metrics = createMetrics();
  const hasher = new PasswordHasher(config.argon2, config.operations.hashConcurrency);
  const accessTokens = new AccessTokens({
    secret,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttl: config.jwt.accessTokenTtl,
    clockTolerance: config.jwt.clockTolerance,
  });
  // A separate key for the refresh chain, derived so one configured secret suffices.
  const refreshChainKey = Buffer.from(hkdfSync('sha256', secret, 'tokengate', 'refresh-token chain v1', 32));
  const redis = config.redis ? openRedis(config.redis.url) : null;
  const sessionGuard = createSessionGuard(config, db, redis, logger);
  const rateLimits = new AuthRateLimits(config.rateLimits, logger, redis && config.redis ? { client: redis, prefix: config.redis.prefix } : null);
  const sessions = new SessionService({ db, clock, guard: sessionGuard, logger });
  // Counted where the door announces it, whichever service ended the sessions.
  sessions.onEvent((event) => {
    if (event.type === 'sessions_ended') metrics.sessionsEnded.inc({ reason: event.reason }, event.sessionIds.length);
  });
  const users = new UserService({ db, clock, hasher, userChanges: sessions, logger });
  const auth = new AuthService({
    db,
    clock,
    hasher,
    accessTokens,
    refreshChainKey,
    sessions,
    rateLimits,
    userService: users,
    logger,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshReuseGrace: config.refreshReuseGrace,
    metrics: metrics.auth,
  });
  const services = { auth, users, sessions };

  // Query limits, checked once per distinct document (Apollo caches validated
  // documents): depth, aliases, directives and cost by GraphQL Armor's
  // validation rules; tokens by graphql-js's own parser limit, so nothing is parsed twice.
  const { queryLimits } = config;
  const armor = new ApolloArmor({
    maxDepth: { n: queryLimits.maxDepth },
    maxAliases: { n: queryLimits.maxAliases },
    costLimit: { maxCost: queryLimits.maxCost },
    maxDirectives: { n: 50 },
    maxTokens: { enabled: false },
    // Suggestions follow the introspection setting instead (hideSchemaDetailsFromClientErrors).
    blockFieldSuggestion: { enabled: false },
  }).protect(); // with tokens and suggestions handled elsewhere, Armor needs no plugin, only validation rules

  const apollo = new ApolloServer<GraphQLContext>({
    schema: deps.schema ?? buildSchema(),
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: queryLimits.maxTokens },
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: config.introspection,
    // "Did you mean …" suggestions describe the schema: hidden wherever introspection is.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    plugins: [
      config.env === 'production'
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      // No field sets cache hints, so computing them per request is waste.
      ApolloServerPluginCacheControlDisabled(),
      logUnexpectedErrors(logger),
      metricsPlugin(metrics.graphqlDuration),
    ],
  });

  const handler = createRequestHandler({
    apollo,
    buildContext: createContextBuilder({ accessTokens, sessions, clock, services, signupEnabled: config.signupEnabled }),
    readiness: async (): Promise<Record<string, boolean>> => {
      const [database, redis] = await Promise.all([pingDatabase(db), sessionGuard.ping()]);
      return config.redis ? { database, redis } : { database };
    },
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    corsOrigins: config.corsOrigins.length > 0 ? config.corsOrigins : config.env === 'production' ? [] : '*',
    // Open outside production for a local Prometheus; in production only with METRICS_TOKEN (else 404).
    metrics:
      config.operations.metricsToken !== null || config.env !== 'production'
        ? {
            token: config.operations.metricsToken,
            scrape: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
          }
        : null,
  });
  const pruner = new Pruner({
    clock,
    logger,
    batchSize: config.operations.pruneBatchSize,
    interval: config.operations.pruneInterval,
    onPruned: (task, rows) => metrics.pruned.inc({ task }, rows),
  });
  for (const task of sessionPruneTasks(db, config.operations)) pruner.register(task);

  const server = createServer({ requestTimeout: 30_000 }, handler);
  server.keepAliveTimeout = 65_000;

  return {
    server,
    db,
    logger,
    services,
    metrics,
    pruner,
    async start() {
      if (redis) {
        // The server starts even when Redis is down: sessions are then checked in the database.
        await redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'Redis is not reachable at start-up; it is retried in the background'));
      }
      await migrateToLatest(db, config.database.dialect);
      await apollo.start();
      if (config.bootstrapAdmin) await ensureAdmin(users, config.bootstrapAdmin, logger);
      pruner.start();
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    async stop() {
      // No new pruning batch from now on; the one in progress finishes before the database closes.
      const pruning = pruner.stop();
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        // Stop accepting; requests in flight finish. Keep-alive connections
        // are closed as soon as they go idle, so clients are not cut off mid-request.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      await pruning;
      await apollo.stop();
      await sessionGuard.close();
      redis?.disconnect();
      await db.destroy();
    },
  };
}

/** Logs every error that is not an expected one, with its stack and the request id; clients see only INTERNAL_SERVER_ERROR. */
function logUnexpectedErrors(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            if (isExpectedError(error)) continue;
            logger.error({ err: error.originalError ?? error, path: error.path, operationName, requestId: contextValue.meta?.requestId }, 'unexpected error');
          }
        },
      };
    },
  };
}

/** Creates the ADMIN_USERNAME account at first start, if no user of that name exists yet. */
async function ensureAdmin(users: UserService, admin: { username: string; password: string }, logger: Logger): Promise<void> {
  try {
    await users.createUser({ username: admin.username, password: admin.password, roles: ['USER', 'ADMIN'] });
    logger.info({ username: admin.username }, 'created the admin account from ADMIN_USERNAME');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'USERNAME_TAKEN') return;
    throw error;
  }
}
