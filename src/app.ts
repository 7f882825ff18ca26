import type { Server } from 'node:http';
import type { Config } from './config/config.js';
import { createCore, type Core, type CoreDeps } from './core/core.js';
import type { Feature, ResolverMap } from './core/feature.js';
import type { Db } from './db/database.js';
import { migrateToLatest } from './db/database.js';
import { createAccountsFeature } from './accounts/index.js';
import { createAuditFeature } from './audit/index.js';
import { createApiKeysFeature } from './api-keys/index.js';
import { createEmailFeature } from './email/index.js';
import type { OutboxWorker } from './email/index.js';
import { createKeysFeature } from './keys/index.js';
import { createMfaFeature } from './mfa/index.js';
import { createPasskeysFeature } from './passkeys/index.js';
import { createSessionsFeature } from './sessions/index.js';
import { createSignInFeature } from './sign-in/index.js';
import { createSocialFeature } from './social/index.js';
import { allMigrations } from './migrations.js';
import { createContextBuilder } from './graphql/context.js';
import { buildSchema } from './graphql/schema.js';
import { createTransports } from './http/transport.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Pruner } from './platform/pruner.js';
import type { AuthEventBus } from './sessions/index.js';
import type { SigningKeySet } from './tokens/signing-keys.js';

/** What buildApp may be given instead of its defaults (tests inject a clock, a logger, a database wrapper or extra fields). */
export interface AppDeps extends CoreDeps {
  /** Fields added to the schema (tests prove how undirected and directed fields are decided). */
  readonly extraSchema?: { readonly typeDefs: string; readonly resolvers: ResolverMap };
  /** The signing keys main.ts read (null for HS256); read from config.jwtKeys when absent. */
  readonly signingKeys?: SigningKeySet | null;
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
  /** The features' services, for the admin CLI's equivalents and service tests. */
  readonly services: ReturnType<typeof composeFeatures>['services'];
  /** Subscriptions: open sockets, and a hook for the `tokengate_ws_connections` gauge. */
  readonly subscriptions: {
    connectionCount(): number;
    /** Registers a callback for every change of the open-socket count (one at a time; returns the unregister function). */
    onConnectionCountChange(listener: (count: number) => void): () => void;
  };
  /** The auth event bus: the door's events, from this instance (heard at publish) and every other. */
  readonly bus: AuthEventBus;
  /** This app's Prometheus registry and series. */
  readonly metrics: Metrics;
  /** The background pruner; the features' tasks are registered on it. */
  readonly pruner: Pruner;
  /** The mail outbox worker (null when mail is disabled). */
  readonly outbox: OutboxWorker | null;
  /** Migrates the database, starts the features and Apollo. */
  start(): Promise<void>;
  /** Listens on the given port (0 for a free one); resolves to the bound port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops the transports, then the features in reverse order, then the core. */
  stop(): Promise<void>;
}

/**
 * Wires tokengate together from a validated Config, in three stages: the
 * core (db, Redis, logger, metrics, event bus, the door), the features (one
 * folder each, in the order their ports need), the transports. No I/O
 * happens here but opening handles; start() does the rest, so tests can
 * build an app and choose when (and on which port) it serves.
 */
export function buildApp(config: Config, deps: AppDeps = {}): App {
  const core = createCore(config, deps);
  const { features, services, keys, sessions, email, apiKeys } = composeFeatures(core, deps);
  for (const task of features.flatMap((f) => f.pruneTasks ?? [])) core.pruner.register(task);
  const transports = createTransports(core, {
    schema: buildSchema(deps.extraSchema, features, { trace: config.authTrace }),
    buildContext: createContextBuilder({
      accessTokens: keys.accessTokens,
      sessions: core.sessions,
      clock: core.clock,
      signupEnabled: config.signupEnabled,
      apiKeys: apiKeys.apiKeys,
      authTrace: config.authTrace,
    }),
    jwks: keys.jwks,
    csrfFor: sessions.csrfFor,
    readiness: async () => ({
      required: Object.assign(await core.readiness(), ...(await Promise.all(features.map((f) => f.readiness?.() ?? {})))),
      external: Object.assign({}, ...(await Promise.all(features.map((f) => f.externalChecks?.() ?? {})))),
    }),
    ...(deps.explorerDir ? { explorerDir: deps.explorerDir } : {}),
    routes: features.flatMap((f) => f.routes ?? []),
  });

  return {
    server: transports.server,
    db: core.db,
    logger: core.logger,
    services,
    bus: core.bus,
    metrics: core.metrics,
    pruner: core.pruner,
    outbox: email.outbox,
    subscriptions: { connectionCount: transports.connectionCount, onConnectionCountChange: transports.onConnectionCountChange },
    async start() {
      await core.connect();
      await migrateToLatest(core.db, allMigrations(config.database.dialect));
      for (const feature of features) await feature.start?.();
      await transports.start();
      core.pruner.start();
    },
    listen: (port, host) => transports.listen(port, host),
    async stop() {
      // No new pruning batch from now on; the one in progress finishes before the database closes.
      const pruning = core.pruner.stop();
      await transports.stop();
      for (const feature of [...features].reverse()) await feature.stop?.();
      await pruning;
      await core.close();
    },
  };
}

/**
 * Builds the features on a core, in the order their ports need: buildApp's
 * second stage (service tests use it without the transports). Answers the
 * list, their services by name, and the features the transports read.
 */
export function composeFeatures(core: Core, deps: Pick<AppDeps, 'signingKeys' | 'fastRotations'> = {}) {
  const keys = createKeysFeature(core, deps.signingKeys !== undefined ? { signingKeys: deps.signingKeys } : {});
  const sessions = createSessionsFeature(core, { accessTokens: keys.accessTokens, ...(deps.fastRotations !== undefined ? { fastRotations: deps.fastRotations } : {}) });
  const email = createEmailFeature(core);
  const mfa = createMfaFeature(core);
  const signIn = createSignInFeature(core, { tokens: sessions.tokens, email: email.email, secondFactor: mfa.totp });
  const passkeys = createPasskeysFeature(core, { signIn: signIn.signIn });
  const accounts = createAccountsFeature(core);
  const audit = createAuditFeature(core);
  const social = createSocialFeature(core, { signIn: signIn.signIn });
  const apiKeys = createApiKeysFeature(core);
  const features: readonly Feature[] = [keys, sessions, email, mfa, signIn, passkeys, accounts, audit, social, apiKeys];
  const services = {
    signIn: signIn.signIn,
    tokens: sessions.tokens,
    users: core.users,
    sessions: core.sessions,
    email: email.email,
    totp: mfa.totp,
    sessionEvents: sessions.sessionEvents,
    passkeys: passkeys.passkeys,
    audit: audit.audit,
    social: social.social,
    apiKeys: apiKeys.apiKeys,
  };
  return { features, services, keys, sessions, email, apiKeys };
}
