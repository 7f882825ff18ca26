import { hkdfSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { GraphQLSchema } from 'graphql';
import { AccessTokens } from './tokens/access-token.js';
import { csrfTokenFor } from './tokens/csrf-token.js';
import { createSessionGuard } from './sessions/guards/create-session-guard.js';
import { publicJwks, type SigningKeySet } from './tokens/signing-keys.js';
import { loadSigningKeys } from './tokens/signing-key-files.js';
import { AuthService } from './auth/auth.service.js';
import { TotpService } from './auth/totp.service.js';
import { deriveSecretBoxKey } from './credentials/secret-box.js';
import { SessionService } from './sessions/session.service.js';
import { createFastRotations } from './sessions/refresh-rotation.repository.js';
import { PasswordHasher } from './credentials/password.js';
import { AuthRateLimits } from './auth/rate-limits.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { Config } from './config/config.js';
import { migrateToLatest, openDatabase, pingDatabase, type Db } from './db/database.js';
import { createContextBuilder, type GraphQLContext } from './graphql/context.js';
import { formatError, isExpectedError } from './graphql/format-error.js';
import { buildSchema } from './graphql/schema.js';
import { createQueryLimits } from './graphql/query-limits.js';
import { createRequestHandler } from './http/request-handler.js';
import { defaultExplorerDir, ExplorerAssets } from './http/explorer.js';
import { attachWebSocketTransport } from './http/websocket.js';
import { LocalEventBus, PostgresEventBus, RedisEventBus, type AuthEventBus } from './sessions/event-bus.js';
import { SessionEventFeed } from './sessions/session-events.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { Pruner } from './platform/pruner.js';
import { metricsPlugin } from './graphql/metrics-plugin.js';
import { sessionPruneTasks } from './sessions/session-prune-tasks.js';
import { openRedis, type Redis } from './platform/redis.js';
import { UserService } from './users/user.service.js';
import { EmailService, type MailDelivery } from './auth/email.service.js';
import { MailRateLimits } from './auth/mail-rate-limits.js';
import { FileMailer, SmtpMailer } from './mail/mailers.js';
import { OutboxWorker } from './mail/outbox-worker.js';
import { pruneSettledMail } from './mail/outbox.repository.js';
import { pruneSpentEmailTokens } from './auth/email-token.repository.js';
import { pruneExpiredMfaTokens } from './auth/mfa-token.repository.js';

/** What buildApp may be given instead of its defaults (tests inject a clock, a logger or a schema). */
export interface AppDeps {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly schema?: GraphQLSchema;
  /** The signing keys main.ts read (null for HS256); read from config.jwtKeys when absent. */
  readonly signingKeys?: SigningKeySet | null;
  /** Wraps the database handle every part uses (service tests add a Kysely plugin that pauses or fails queries). */
  readonly wrapDb?: (db: Db) => Db;
  /**
   * The one-step refresh rotation on SQLite (sessions/refresh-rotation.repository.ts);
   * default on. Service tests that step through the general path's queries turn it off.
   */
  readonly fastRotations?: boolean;
  /** Where the built explorer is (default: dist/explorer). */
  readonly explorerDir?: string;
}

/** A built, not yet listening, tokengate. */
export interface App {
  readonly server: Server;
  readonly db: Db;
  readonly logger: Logger;
  readonly services: {
    readonly auth: AuthService;
    readonly users: UserService;
    readonly sessions: SessionService;
    readonly email: EmailService;
    readonly totp: TotpService;
    readonly sessionEvents: SessionEventFeed;
  };
  /** Subscriptions: open sockets, and a hook for the `tokengate_ws_connections` gauge. */
  readonly subscriptions: {
    connectionCount(): number;
    /** Registers a callback for every change of the open-socket count (one at a time; returns the unregister function). */
    onConnectionCountChange(listener: (count: number) => void): () => void;
  };
  /** This app's Prometheus registry and series (the mail outbox sets its queue-depth source). */
  readonly metrics: Metrics;
  /** The background pruner; features register their PruneTasks before start(). */
  readonly pruner: Pruner;
  /** The mail outbox worker (null when mail is disabled): `queueDepth()` feeds the `tokengate_mail_queue_depth` gauge. */
  readonly outbox: OutboxWorker | null;
  /** Migrates the database, starts Apollo and creates the bootstrap admin. */
  start(): Promise<void>;
  /** Listens on the given port (0 for a free one); resolves to the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, finishes in-flight requests, closes sockets (1001), the event bus and the database. */
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
  const signingKeys = deps.signingKeys !== undefined ? deps.signingKeys : loadSigningKeys(config, logger);
  const accessTokens = new AccessTokens({
    secret,
    keys: signingKeys,
    hasuraClaims: config.jwtKeys.hasuraClaims,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    ttl: config.jwt.accessTokenTtl,
    clockTolerance: config.jwt.clockTolerance,
  });
  // A separate key for the refresh chain, derived so one configured secret suffices.
  // Always from JWT_SECRET, never from a signing key: a public key is public.
  const refreshChainKey = Buffer.from(hkdfSync('sha256', secret, 'tokengate', 'refresh-token chain v1', 32));
  // The cookie mode's CSRF tokens get their own key (own label): one secret, no key reused for two purposes.
  const csrfKey = Buffer.from(hkdfSync('sha256', secret, 'tokengate', 'csrf token v1', 32));
  const redis = config.redis ? openRedis(config.redis.url) : null;
  const sessionGuard = createSessionGuard(config, db, redis, logger);
  const rateLimits = new AuthRateLimits(
    config.rateLimits,
    logger,
    redis && config.redis ? { client: redis, prefix: config.redis.prefix } : null,
    config.subscriptions.connectionsPerAddress,
  );
  const sessions = new SessionService({ db, clock, guard: sessionGuard, logger });
  // Counted where the door announces it, whichever service ended the sessions.
  sessions.onEvent((event) => {
    if (event.type === 'sessions_ended') metrics.sessionsEnded.inc({ reason: event.reason }, event.sessionIds.length);
  });
  const users = new UserService({ db, clock, hasher, userChanges: sessions, logger });
  const { outbox, delivery } = createOutbox(config, db, clock, logger);
  const email = new EmailService({
    db,
    clock,
    hasher,
    sessions,
    rateLimits: new MailRateLimits(config.mail, logger, redis && config.redis ? { client: redis, prefix: config.redis.prefix } : null),
    logger,
    config: config.mail,
    delivery,
    mailQueued: () => outbox?.nudge(),
  });
  // TOTP secrets at rest: AES-256-GCM under their own HKDF-derived key (credentials/secret-box.ts).
  const totp = new TotpService({ db, clock, secretKey: deriveSecretBoxKey(secret), issuer: config.totp.issuer, sessions, rateLimits, logger });
  const auth = new AuthService({
    db,
    clock,
    hasher,
    accessTokens,
    refreshChainKey,
    csrfKey,
    sessions,
    rateLimits,
    userService: users,
    email,
    totp,
    logger,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshReuseGrace: config.refreshReuseGrace,
    // On the unwrapped handle: its statements are not Kysely queries (it shares Kysely's one connection).
    fastRotations: deps.fastRotations === false ? null : createFastRotations(opened, config.database.dialect),
    metrics: metrics.auth,
  });
  const bus = createEventBus(config, db, redis, logger);
  // The door's events reach every instance through the bus: sockets close, sessionEvents stream.
  sessions.onEvent((event) => bus.publish(event));
  const sessionEvents = new SessionEventFeed(bus, { db, logger });
  const services = { auth, users, sessions, email, totp, sessionEvents };

  const queryLimits = createQueryLimits(config);

  const schema = deps.schema ?? buildSchema();
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    validationRules: [...queryLimits.validationRules],
    parseOptions: queryLimits.parseOptions,
    formatError,
    includeStacktraceInErrorResponses: false,
    introspection: config.introspection,
    // "Did you mean …" suggestions describe the schema: hidden wherever introspection is.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    plugins: [
      // EXPLORER=graphiql serves our own page before Apollo sees the request; Apollo's landing page is Sandbox only.
      config.explorer.mode === 'sandbox'
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      // No field sets cache hints, so computing them per request is waste.
      ApolloServerPluginCacheControlDisabled(),
      logUnexpectedErrors(logger),
      metricsPlugin(metrics.graphqlDuration),
    ],
  });

  const explorer = config.explorer.mode === 'graphiql' ? new ExplorerAssets(deps.explorerDir ?? defaultExplorerDir()) : null;
  const buildContext = createContextBuilder({ accessTokens, sessions, clock, services, signupEnabled: config.signupEnabled });
  const handler = createRequestHandler({
    apollo,
    buildContext,
    readiness: async (): Promise<Record<string, boolean>> => {
      const [database, redis] = await Promise.all([pingDatabase(db), sessionGuard.ping()]);
      return config.redis ? { database, redis } : { database };
    },
    logger,
    // Computed once: the key set is fixed for the life of the process.
    jwks: JSON.stringify(publicJwks(signingKeys)),
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // With cookies on, no origin is reflected by default: a credentialed answer goes only to origins listed by name.
    corsOrigins: config.corsOrigins.length > 0 ? config.corsOrigins : config.env === 'production' || config.cookies.refreshTokenCookie ? [] : '*',
    // Open outside production for a local Prometheus; in production only with METRICS_TOKEN (else 404).
    metrics:
      config.operations.metricsToken !== null || config.env !== 'production'
        ? {
            token: config.operations.metricsToken,
            scrape: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
          }
        : null,
    explorer,
    cookies: config.cookies.refreshTokenCookie
      ? { secure: config.cookies.secure, csrfFor: (sessionId: string) => csrfTokenFor(csrfKey, sessionId), now: () => clock.now() }
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
  // One-time tokens once spent, and mail once sent or given up (its body is already erased), past the session retention.
  pruner.register({ name: 'email_tokens', prune: (now, limit) => pruneSpentEmailTokens(db, now, limit) });
  pruner.register({ name: 'mfa_tokens', prune: (now, limit) => pruneExpiredMfaTokens(db, now, limit) });
  pruner.register({ name: 'mail_outbox', prune: (now, limit) => pruneSettledMail(db, now - config.operations.sessionRetention * 1000, limit) });
  if (outbox) metrics.setMailQueueDepthSource(() => outbox.queueDepth());

  const server = createServer({ requestTimeout: 30_000 }, handler);
  server.keepAliveTimeout = 65_000;
  let countListener: ((count: number) => void) | null = null;
  const websockets = attachWebSocketTransport({
    server,
    schema,
    queryLimits,
    buildContext,
    sessions,
    bus,
    rateLimits,
    clock,
    logger,
    config: config.subscriptions,
    maxMessageBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    allowedOrigins: config.corsOrigins,
    clockToleranceSeconds: config.jwt.clockTolerance,
    hideSchemaDetails: !config.introspection,
    onConnectionCountChange: (count) => {
      metrics.wsConnections.set(count);
      countListener?.(count);
    },
  });

  return {
    server,
    db,
    logger,
    services,
    metrics,
    pruner,
    outbox,
    subscriptions: {
      connectionCount: () => websockets.connectionCount(),
      onConnectionCountChange(listener) {
        countListener = listener;
        return () => {
          if (countListener === listener) countListener = null;
        };
      },
    },
    async start() {
      if (redis) {
        // The server starts even when Redis is down: sessions are then checked in the database.
        await redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'Redis is not reachable at start-up; it is retried in the background'));
      }
      await migrateToLatest(db, config.database.dialect);
      await bus.start();
      await apollo.start();
      if (explorer && !explorer.built) logger.warn({ dir: explorer.dir }, 'EXPLORER=graphiql but the explorer is not built: run `npm run build`');
      if (config.bootstrapAdmin) await ensureAdmin(users, config.bootstrapAdmin, logger);
      pruner.start();
      if (delivery === 'disabled') {
        logger.warn(
          { event: 'mail.disabled' },
          'SMTP_URL is not set: email addresses are stored unverified, and requestPasswordReset/requestEmailVerification answer FORBIDDEN (EMAIL_DISABLED)',
        );
      }
      outbox?.start();
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
      const serverClosed = new Promise<void>((resolve) => {
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
      // Upgraded sockets keep the server open: they close (1001) once their in-flight operations end.
      await websockets.close();
      await serverClosed;
      sessionEvents.close();
      await bus.close();
      await pruning;
      await apollo.stop();
      await outbox?.stop();
      await sessionGuard.close();
      redis?.disconnect();
      await db.destroy();
    },
  };
}

/**
/**
 * How mail leaves: SMTP when SMTP_URL is set; outside production without it,
 * .eml files in the outbox folder; in production without it, nowhere (the
 * flows that need mail answer EMAIL_DISABLED).
 */
function createOutbox(config: Config, db: Db, clock: Clock, logger: Logger): { outbox: OutboxWorker | null; delivery: MailDelivery } {
  const { mail } = config;
  const delivery: MailDelivery = mail.smtpUrl !== null ? 'smtp' : config.env === 'production' ? 'disabled' : 'files';
  if (delivery === 'disabled') return { outbox: null, delivery };
  const mailer = mail.smtpUrl !== null ? new SmtpMailer(mail.smtpUrl, mail.from) : new FileMailer(mail.outboxDir, mail.from, logger);
  const outbox = new OutboxWorker({ db, dialect: config.database.dialect, mailer, clock, logger, policy: mail });
  return { outbox, delivery };
}

/**
 * Picks how the door's events reach the other instances: Redis pub/sub when
 * configured, PostgreSQL LISTEN/NOTIFY when only PostgreSQL is shared, in
 * process on embedded SQLite (one instance sees every write).
 */
function createEventBus(config: Config, db: Db, redis: Redis | null, logger: Logger): AuthEventBus {
  if (config.redis && redis) return new RedisEventBus(redis, { url: config.redis.url, prefix: config.redis.prefix, logger });
  if (config.database.dialect === 'postgres') return new PostgresEventBus(db, { url: config.database.url, logger });
  return new LocalEventBus(logger);
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
