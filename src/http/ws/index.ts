import type { Server } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { AuthRateLimits } from '../../core/rate-limits.js';
import type { SubscriptionsConfig } from '../../config/sections/subscriptions.section.js';
import type { ContextInput, GraphQLContext } from '../../graphql/context.js';
import type { OperationPipeline } from '../../graphql/operation-pipeline.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import { LiveCredentials, type AuthEventBus, type InvalidReason, type SessionService } from '../../sessions/ports.js';
import { parseConnectionParams } from '../credentials.js';
import { WsClose, type Connection } from './connection.js';
import { createOperationHooks } from './operations.js';
import type { Protocol } from './protocol.js';
import { createUpgradeGate } from './upgrade.js';

export { WsClose, type WsCloseReason } from './connection.js';

/** What the WebSocket transport needs from the rest of the app. */
export interface WebSocketDeps {
  readonly server: Server;
  readonly schema: GraphQLSchema;
  /** The operation pipeline HTTP's Apollo runs too (graphql/operation-pipeline.ts). */
  readonly pipeline: OperationPipeline;
  /** The same context builder as HTTP: it verifies the token and checks the session. */
  readonly buildContext: (input: ContextInput) => Promise<GraphQLContext>;
  readonly sessions: Pick<SessionService, 'checkSession'>;
  readonly bus: AuthEventBus;
  readonly rateLimits: Pick<AuthRateLimits, 'chargeConnection'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: SubscriptionsConfig;
  readonly maxMessageBytes: number;
  readonly trustProxy: boolean;
  /** CORS_ORIGINS: when not empty, an upgrade with another Origin is refused with 403. */
  readonly allowedOrigins: readonly string[];
  /** JWT_CLOCK_TOLERANCE in seconds: a token is accepted this long after `exp`, so the socket is too. */
  readonly clockToleranceSeconds: number;
  /** Called with the number of open sockets whenever it changes (the `tokengate_ws_connections` gauge). */
  readonly onConnectionCountChange?: (count: number) => void;
}

/** The running WebSocket transport. */
export interface WebSocketTransport {
  /** Open sockets on this instance (anonymous ones included). */
  connectionCount(): number;
  /** Refuses new upgrades, lets in-flight queries and mutations finish, closes every socket with 1001. */
  close(): Promise<void>;
}

/**
 * graphql-ws (`graphql-transport-ws`) on /graphql of the HTTP server: the same
 * schema, operation pipeline, context builder and shield rules as HTTP, so
 * one code path authenticates both transports. Beyond connect time, every
 * socket's credential is watched (sessions/live-credentials.ts) and the socket
 * closed when the watcher says the credential went bad.
 */
export function attachWebSocketTransport(deps: WebSocketDeps): WebSocketTransport {
  const { config, logger } = deps;
  let stopping = false;
  const live = new LiveCredentials({
    bus: deps.bus,
    sessions: deps.sessions,
    clock: deps.clock,
    logger,
    clockToleranceSeconds: deps.clockToleranceSeconds,
    recheckIntervalMs: config.recheckIntervalMs,
    degradedRecheckIntervalMs: config.degradedRecheckIntervalMs,
  });
  // The WebSocket stack (ws, graphql-ws's server) is loaded at the first
  // upgrade, not at start-up: most starts serve HTTP only, and it is a part
  // of every cold start otherwise.
  let protocol: Protocol | null = null;
  let loading: Promise<Protocol> | null = null;
  const loadProtocol = () =>
    (loading ??= import('./protocol.js').then(({ createProtocol }) =>
      (protocol = createProtocol({
        schema: deps.schema,
        logger,
        maxMessageBytes: deps.maxMessageBytes,
        initTimeoutMs: config.initTimeoutMs,
        onConnect: (conn, params) => authenticateConnection(deps, live, conn, params),
        operations: createOperationHooks(deps),
        onCountChange: (count) => deps.onConnectionCountChange?.(count),
      })),
    ));
  const onUpgrade = createUpgradeGate({
    path: '/graphql',
    allowedOrigins: deps.allowedOrigins,
    trustProxy: deps.trustProxy,
    rateLimits: deps.rateLimits,
    logger,
    stopping: () => stopping,
    accept: (request, socket, head, clientAddress) => {
      if (protocol) return protocol.accept(request, socket, head, clientAddress);
      loadProtocol().then(
        (loaded) => (stopping ? socket.destroy() : loaded.accept(request, socket, head, clientAddress)),
        (error: unknown) => {
          logger.error({ err: error }, 'could not load the WebSocket transport');
          socket.destroy();
        },
      );
    },
  });
  deps.server.on('upgrade', onUpgrade);

  return {
    connectionCount: () => protocol?.connectionCount() ?? 0,
    async close() {
      stopping = true;
      deps.server.off('upgrade', onUpgrade);
      live.stop();
      if (loading) await loading.then((loaded) => loaded.shutdown(), () => {});
    },
  };
}

/**
 * `connection_init`: the credential is parsed once and checked by the same
 * context builder as HTTP. An anonymous socket is accepted (public fields
 * only); a signed-in one is held to the per-user limit and watched.
 */
async function authenticateConnection(
  deps: Pick<WebSocketDeps, 'buildContext' | 'logger' | 'config'>,
  live: LiveCredentials,
  conn: Connection,
  params: Readonly<Record<string, unknown>> | undefined,
): Promise<boolean> {
  conn.credential = parseConnectionParams(params);
  const context = await deps.buildContext({ credential: conn.credential, meta: conn.meta });
  if (context.authUnavailable) {
    deps.logger.error({ err: context.authUnavailable }, 'could not check a WebSocket connection’s session');
    conn.close(WsClose.UNAVAILABLE, 'INTERNAL_SERVER_ERROR');
    return false;
  }
  const viewer = context.viewer;
  if (viewer === null) {
    if (conn.credential.kind === 'none') return true; // anonymous: public fields only
    conn.close(WsClose.FORBIDDEN, context.authFailure ?? 'INVALID_TOKEN');
    return false;
  }
  const userId = viewer.user.id;
  if (live.countOf(userId) >= deps.config.maxConnectionsPerUser) {
    conn.close(WsClose.TOO_MANY_CONNECTIONS, 'TOO_MANY_CONNECTIONS');
    return false;
  }
  if (!conn.open) return false; // the client left while we checked
  // Known before watching: a token already past its `exp` is invalidated inside watch(), and its close is logged with its user.
  let unwatch = () => {};
  conn.authenticated({ userId, sessionId: viewer.sessionId, unwatch: () => unwatch() });
  const credential = conn.credential;
  // An API key opens no session: the watcher re-checks it as its requests are checked (not charged to its rate limit).
  const check =
    viewer.apiKey === undefined
      ? {}
      : {
          check: async () => {
            const again = await deps.buildContext({ credential, meta: conn.meta, recheck: true });
            if (again.authUnavailable) throw again.authUnavailable;
            return again.viewer === null ? { active: false as const } : { active: true as const, user: again.viewer.user };
          },
        };
  const watch = live.watch({ userId, sessionId: viewer.sessionId, roles: viewer.user.roles, tokenExpiresAt: viewer.tokenExpiresAt, ...check }, (reason) =>
    closeFor(conn, reason),
  );
  unwatch = watch.unwatch;
  await watch.confirmed;
  return conn.open;
}

/** Closes a socket whose credential the watcher invalidated. */
function closeFor(conn: Connection, reason: InvalidReason): void {
  if (reason === 'UNVERIFIABLE') conn.close(WsClose.UNAVAILABLE, 'INTERNAL_SERVER_ERROR');
  else conn.close(WsClose.FORBIDDEN, reason);
}
