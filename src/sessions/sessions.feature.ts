import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import type { AccessTokens } from '../tokens/access-token.js';
import { csrfTokenFor } from '../tokens/csrf-token.js';
import { createFastRotations } from './refresh-rotation.repository.js';
import { SessionEventFeed } from './session-events.js';
import { sessionPruneTasks } from './session-prune-tasks.js';
import { sessionResolvers } from './sessions.resolvers.js';
import { TokenService } from './token.service.js';

/** What the sessions feature offers the others. */
export interface SessionsFeature extends Feature {
  /** A session's tokens: opening one with its first pair, refresh, logout. */
  readonly tokens: TokenService;
  /** The stream behind `Subscription.sessionEvents`. */
  readonly sessionEvents: SessionEventFeed;
  /** The cookie mode's CSRF token of a session (the transport sets it as tg_csrf). */
  csrfFor(sessionId: string): string;
}

/** HKDF labels of the keys this feature derives from JWT_SECRET (one purpose each). */
const REFRESH_CHAIN_KEY = 'refresh-token chain v1';
const CSRF_KEY = 'csrf token v1';

/**
 * Sessions and their tokens (docs/api.md, "Tokens", "Sessions"): refresh
 * rotation with theft detection, logout, the session list and its live
 * events, and pruning of finished sessions. The door itself is the core's.
 */
export function createSessionsFeature(core: Core, ports: { readonly accessTokens: AccessTokens; readonly fastRotations?: boolean }): SessionsFeature {
  const { config, db, clock, logger } = core;
  const csrfKey = core.deriveKey(CSRF_KEY);
  const tokens = new TokenService({
    db,
    clock,
    accessTokens: ports.accessTokens,
    refreshChainKey: core.deriveKey(REFRESH_CHAIN_KEY),
    csrfKey,
    sessions: core.sessions,
    rateLimits: core.rateLimits,
    logger,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshReuseGrace: config.refreshReuseGrace,
    // On the opened handle: its statements are not Kysely queries (it shares Kysely's one connection).
    fastRotations: ports.fastRotations === false ? null : createFastRotations(core.openedDb, config.database.dialect),
    metrics: core.metrics.auth,
  });
  const sessionEvents = new SessionEventFeed(core.bus, { db, logger });
  return {
    name: 'sessions',
    schema: ['sessions.graphql', 'subscriptions.graphql'],
    resolvers: sessionResolvers(tokens, sessionEvents),
    pruneTasks: sessionPruneTasks(db, config.operations),
    tokens,
    sessionEvents,
    csrfFor: (sessionId) => csrfTokenFor(csrfKey, sessionId),
    async stop() {
      sessionEvents.close();
    },
  };
}
