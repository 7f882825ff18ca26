import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, subscribe, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type ExecutionResult } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AuthRateLimits } from '../auth/rate-limits.js';
import type { SubscriptionsConfig } from '../config/subscriptions.config.js';
import { AppError } from '../errors.js';
import type { ContextInput, GraphQLContext } from '../graphql/context.js';
import type { OperationPipeline } from '../graphql/operation-pipeline.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { RequestMeta } from '../platform/request-meta.js';
import type { AuthEventBus, BusStatus } from '../sessions/event-bus.js';
import type { AuthEvent, SessionService } from '../sessions/session.service.js';
import { parseConnectionParams, type Credential } from './credentials.js';
import { clientAddress } from './client-address.js';

/** The contract's close codes (../shared/API.md, "Subscriptions"); 4401 is never used for auth. */
export const WsClose = {
  /** Auth refused or lost; the graphql-ws client retries after calling `connectionParams` again. */
  FORBIDDEN: CloseCode.Forbidden,
  /** No `connection_init` in time (graphql-ws's own code). */
  INIT_TIMEOUT: CloseCode.ConnectionInitialisationTimeout,
  /** The user holds too many connections; graphql-ws clients treat 4429 as fatal, so they do not hammer. */
  TOO_MANY_CONNECTIONS: 4429,
  /** Sessions could not be checked (the database is away): the client retries. */
  UNAVAILABLE: 1011,
  /** Server shutting down. */
  GOING_AWAY: 1001,
} as const;

/** Why a socket was closed with 4403. */
export type WsCloseReason = 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'ROLES_CHANGED';

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

/** One socket, from upgrade to close. */
interface Connection {
  readonly socket: WebSocket;
  readonly meta: RequestMeta;
  /** The credential from `connection_init`, parsed once; every operation's context is built from it. */
  credential: Credential;
  /** Set once `connection_init` authenticated a user. */
  auth: { readonly userId: string; readonly sessionId: string; roles: string } | null;
  expiry: NodeJS.Timeout | null;
  /** Ids of the queries and mutations running on this socket (graceful shutdown waits for them). */
  readonly running: Set<string>;
  /** A close decided while operations were running, applied when they end. */
  pendingClose: { readonly code: number; readonly reason: string; readonly timer: NodeJS.Timeout } | null;
}

/** What graphql-ws's context carries for each socket. */
interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/** setTimeout's limit; a longer wait is re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
const RECHECK_CONCURRENCY = 32;
const SHUTDOWN_DRAIN_MS = 5_000;
const SHUTDOWN_CLOSE_GRACE_MS = 1_000;
const KEEP_ALIVE_MS = 12_000;
const PENDING_CLOSE_MAX_MS = 1_000;

/**
 * graphql-ws (`graphql-transport-ws`) on /graphql of the HTTP server: the same
 * schema, query limits, context builder and shield rules as HTTP, so one code
 * path authenticates both transports. Beyond connect time, every socket is
 * tied to its token and session: closed at the token's `exp`, and as soon as
 * the auth event bus says its session ended or its user's roles changed, on
 * whichever instance the write happened. When the bus cannot vouch for that
 * (its connection is lost), sockets are re-checked against the session guard
 * until it is back, and once more after; and every socket is re-checked
 * periodically anyway.
 */
export function attachWebSocketTransport(deps: WebSocketDeps): WebSocketTransport {
  const { config, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxMessageBytes, handleProtocols: (protocols) => handleProtocols(protocols) });
  const connections = new Map<WebSocket, Connection>();
  const bySession = new Map<string, Set<Connection>>();
  const byUser = new Map<string, Set<Connection>>();
  /** Subscription source streams made in onSubscribe (to answer a refusal with an `error` message), handed to graphql-ws. */
  const sourceStreams = new WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>();
  let stopping = false;

  const countChanged = () => deps.onConnectionCountChange?.(connections.size);

  const closeConnection = (conn: Connection, code: number, reason: string) => {
    if (conn.socket.readyState !== conn.socket.OPEN && conn.socket.readyState !== conn.socket.CONNECTING) return;
    if (conn.running.size > 0 && conn.pendingClose === null) {
      // A query or mutation on this socket is running (a `logout` sent over the socket
      // itself): its answer goes out first, then the socket closes; at most a second later.
      const timer = setTimeout(() => flushClose(conn), PENDING_CLOSE_MAX_MS);
      timer.unref();
      conn.pendingClose = { code, reason, timer };
      return;
    }
    if (conn.pendingClose !== null) return;
    if (conn.auth) logger.info({ event: 'ws.closed', code, reason, userId: conn.auth.userId, sessionId: conn.auth.sessionId, clientAddress: conn.meta.clientAddress }, 'ws.closed');
    // Out of the indexes at once: a socket waiting for the peer's close frame no longer counts against its user.
    detach(conn);
    conn.socket.close(code, reason);
  };
  const flushClose = (conn: Connection) => {
    const pending = conn.pendingClose;
    if (pending === null) return;
    clearTimeout(pending.timer);
    conn.running.clear();
    conn.pendingClose = null;
    closeConnection(conn, pending.code, pending.reason);
  };

  const register = (conn: Connection) => {
    const { userId, sessionId } = conn.auth!;
    addTo(bySession, sessionId, conn);
    addTo(byUser, userId, conn);
  };
  const detach = (conn: Connection) => {
    if (conn.expiry) clearTimeout(conn.expiry);
    conn.expiry = null;
    if (conn.auth) {
      removeFrom(bySession, conn.auth.sessionId, conn);
      removeFrom(byUser, conn.auth.userId, conn);
    }
  };
  const unregister = (conn: Connection) => {
    if (conn.pendingClose) clearTimeout(conn.pendingClose.timer);
    detach(conn);
    if (connections.delete(conn.socket)) countChanged();
  };

  const armExpiry = (conn: Connection, expiresAt: number) => {
    const wait = expiresAt - deps.clock.now();
    if (wait <= 0) return closeConnection(conn, WsClose.FORBIDDEN, 'TOKEN_EXPIRED');
    conn.expiry = setTimeout(() => armExpiry(conn, expiresAt), Math.min(wait, MAX_TIMER_MS));
    conn.expiry.unref();
  };

  /** Closes what an event from any instance makes stale. */
  const onAuthEvent = (event: AuthEvent) => {
    switch (event.type) {
      case 'sessions_ended':
        for (const id of event.sessionIds) for (const conn of [...(bySession.get(id) ?? [])]) closeConnection(conn, WsClose.FORBIDDEN, 'TOKEN_REVOKED');
        return;
      case 'roles_changed': {
        const roles = rolesKey(event.user.roles);
        for (const conn of [...(byUser.get(event.userId) ?? [])]) if (conn.auth?.roles !== roles) closeConnection(conn, WsClose.FORBIDDEN, 'ROLES_CHANGED');
        return;
      }
      case 'session_started':
        return;
      default: {
        const never: never = event;
        return never;
      }
    }
  };

  /**
   * Checks every authenticated socket against the session guard; closes the
   * revoked and the changed. A request made while a pass runs gets a pass of
   * its own afterwards: the pass that follows the bus's return must start
   * after it, or it could miss a write announced while the bus was down.
   */
  let rechecking: Promise<void> | null = null;
  let recheckAgain = false;
  const recheckAll = (): void => {
    if (rechecking) {
      recheckAgain = true;
      return;
    }
    rechecking = (async () => {
      const all = [...connections.values()].filter((conn) => conn.auth !== null);
      for (let i = 0; i < all.length; i += RECHECK_CONCURRENCY) {
        await Promise.all(all.slice(i, i + RECHECK_CONCURRENCY).map(recheck));
      }
    })().finally(() => {
      rechecking = null;
      if (recheckAgain) {
        recheckAgain = false;
        recheckAll();
      }
    });
  };
  const recheck = async (conn: Connection) => {
    const auth = conn.auth;
    if (auth === null) return;
    try {
      const check = await deps.sessions.checkSession(auth.sessionId, auth.userId);
      if (!check.active) closeConnection(conn, WsClose.FORBIDDEN, 'TOKEN_REVOKED');
      else if (rolesKey(check.user.roles) !== auth.roles) closeConnection(conn, WsClose.FORBIDDEN, 'ROLES_CHANGED');
    } catch (error) {
      // Neither the bus nor the guard can vouch for this socket now: fail safe.
      if (deps.bus.status === 'down') {
        logger.warn({ err: error, sessionId: auth.sessionId }, 'cannot check a socket while the auth event bus is down; closing it');
        closeConnection(conn, WsClose.UNAVAILABLE, 'INTERNAL_SERVER_ERROR');
      }
    }
  };

  let degradedTimer: NodeJS.Timeout | null = null;
  const onBusStatus = (status: BusStatus) => {
    if (status === 'down') {
      degradedTimer ??= setInterval(recheckAll, config.degradedRecheckIntervalMs);
      degradedTimer.unref();
      return;
    }
    if (degradedTimer) clearInterval(degradedTimer);
    degradedTimer = null;
    // Events published while the bus was down are lost: check everything once more.
    recheckAll();
  };
  const unsubscribeEvents = deps.bus.subscribe(onAuthEvent);
  const unsubscribeStatus = deps.bus.onStatus(onBusStatus);
  if (deps.bus.status === 'down') onBusStatus('down');
  const periodic = setInterval(recheckAll, config.recheckIntervalMs);
  periodic.unref();

  const graphqlWs = makeServer<Record<string, unknown>, Extra>(
    {
      schema: deps.schema,
      connectionInitWaitTimeout: config.initTimeoutMs,
      onConnect: async (ctx) => {
        const conn = connections.get(ctx.extra.socket);
        if (conn === undefined) return false;
        conn.credential = parseConnectionParams(ctx.connectionParams);
        const context = await deps.buildContext({ credential: conn.credential, meta: conn.meta });
        if (context.authUnavailable) {
          logger.error({ err: context.authUnavailable }, 'could not check a WebSocket connection’s session');
          closeConnection(conn, WsClose.UNAVAILABLE, 'INTERNAL_SERVER_ERROR');
          return false;
        }
        const viewer = context.viewer;
        if (viewer === null) {
          if (conn.credential.kind === 'none') return true; // anonymous: public fields only
          closeConnection(conn, WsClose.FORBIDDEN, context.authFailure ?? 'INVALID_TOKEN');
          return false;
        }
        if ((byUser.get(viewer.user.id)?.size ?? 0) >= config.maxConnectionsPerUser) {
          closeConnection(conn, WsClose.TOO_MANY_CONNECTIONS, 'TOO_MANY_CONNECTIONS');
          return false;
        }
        if (conn.socket.readyState !== conn.socket.OPEN) return false; // the client left while we checked
        conn.auth = { userId: viewer.user.id, sessionId: viewer.sessionId, roles: rolesKey(viewer.user.roles) };
        register(conn);
        armExpiry(conn, viewer.tokenExpiresAt + deps.clockToleranceSeconds * 1000);
        // A revocation announced between the check above and register() found no socket
        // to close: check once more now that the socket is listed (the door bumps before it announces).
        const again = await deps.sessions.checkSession(viewer.sessionId, viewer.user.id).catch(() => null);
        if (again !== null && !again.active) {
          closeConnection(conn, WsClose.FORBIDDEN, 'TOKEN_REVOKED');
          return false;
        }
        if (again !== null && rolesKey(again.user.roles) !== conn.auth.roles) {
          closeConnection(conn, WsClose.FORBIDDEN, 'ROLES_CHANGED');
          return false;
        }
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const conn = connections.get(ctx.extra.socket);
        if (conn === undefined) return [new GraphQLError('The connection is closed.')];
        const prepared = deps.pipeline.prepare(payload.query, payload.operationName);
        if (!prepared.ok) return prepared.errors;
        // Each operation gets a fresh context from the same builder as HTTP: its session and roles as they are now.
        const contextValue = await deps.buildContext({ credential: conn.credential, meta: { ...conn.meta, requestId: randomUUID() } });
        const args: ExecutionArgs = {
          schema: deps.schema,
          document: prepared.document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue,
        };
        if (prepared.operation.operation !== 'subscription') {
          conn.running.add(id);
          return args;
        }
        // Subscribing here rather than in graphql-ws lets a refused subscription (a shield
        // rule on the field) answer with an `error` message, as the contract says, instead
        // of a `next` carrying errors.
        const stream = await subscribe(args);
        if (!isAsyncIterable(stream)) return stream.errors && stream.errors.length > 0 ? [...stream.errors] : [new GraphQLError('The subscription did not start.')];
        sourceStreams.set(args, stream);
        return args;
      },
      subscribe: (args) => sourceStreams.get(args) ?? subscribe(args),
      onComplete: (ctx, id) => {
        const conn = connections.get(ctx.extra.socket);
        if (conn === undefined) return;
        conn.running.delete(id);
        // graphql-ws sends `complete` right after this returns: close after it.
        if (conn.pendingClose !== null && conn.running.size === 0) setImmediate(() => flushClose(conn));
      },
      onNext: (_ctx, _id, payload, args, result) =>
        result.errors
          ? { ...result, errors: deps.pipeline.formatErrors(result.errors, { operationName: payload.operationName, requestId: (args.contextValue as GraphQLContext).meta.requestId }) }
          : undefined,
      onError: (_ctx, _id, payload, errors) => deps.pipeline.formatErrors(errors, { operationName: payload.operationName }),
    },
  );

  // graphql-ws's protocol on ws sockets: its own `use/ws` adapter, kept here so
  // errors go to our logger (never to a client's close reason) and keep-alive is ours.
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const conn: Connection = {
      socket,
      meta: { userAgent: request.headers['user-agent'] ?? null, clientAddress: clientAddress(request, deps.trustProxy), requestId: randomUUID() },
      credential: { kind: 'none' },
      auth: null,
      expiry: null,
      running: new Set(),
      pendingClose: null,
    };
    connections.set(socket, conn);
    countChanged();
    const fail = (error: unknown) => {
      logger.error({ err: error }, 'internal error on a WebSocket');
      closeConnection(conn, CloseCode.InternalServerError, 'Internal server error');
    };
    // ws reports protocol violations (an oversized message: 1009) here, then closes by itself.
    socket.on('error', (error) => logger.debug({ err: error, clientAddress: conn.meta.clientAddress }, 'WebSocket error'));
    // Keep-alive: a peer that stops answering pings is dropped, so dead sockets do not count against the user.
    let alive = true;
    socket.on('pong', () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            handle(data.toString()).catch(fail);
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      unregister(conn);
      closed(code, reason.toString()).catch((error: unknown) => logger.error({ err: error }, 'error while closing a WebSocket'));
    });
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {}); // a client that vanishes mid-handshake is not our error
    void handleUpgrade(request, socket, head).catch((error: unknown) => {
      logger.error({ err: error }, 'unhandled error in WebSocket upgrade');
      refuseUpgrade(socket, 500, 'Internal Server Error');
    });
  };
  const handleUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = request.url ?? '/';
    const pathname = url.split('?', 1)[0];
    if (pathname !== '/graphql') return refuseUpgrade(socket, 404, 'Not Found');
    if (stopping) return refuseUpgrade(socket, 503, 'Service Unavailable');
    // Browsers send Origin on every WebSocket and do not apply CORS to it: the server must.
    const origin = request.headers.origin;
    if (origin !== undefined && deps.allowedOrigins.length > 0 && !deps.allowedOrigins.includes(origin)) return refuseUpgrade(socket, 403, 'Forbidden');
    try {
      await deps.rateLimits.chargeConnection({ clientAddress: clientAddress(request, deps.trustProxy), requestId: randomUUID() });
    } catch (error) {
      if (error instanceof AppError) {
        const retryAfter = error.extras.retryAfter;
        return refuseUpgrade(socket, 429, 'Too Many Requests', retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
      }
      throw error;
    }
    if (stopping || socket.destroyed) return refuseUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  deps.server.on('upgrade', onUpgrade);

  return {
    connectionCount: () => connections.size,
    async close() {
      stopping = true;
      deps.server.off('upgrade', onUpgrade);
      clearInterval(periodic);
      if (degradedTimer) clearInterval(degradedTimer);
      unsubscribeEvents();
      unsubscribeStatus();
      // In-flight queries and mutations finish and their answers are sent; then every socket goes.
      const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
      while ([...connections.values()].some((conn) => conn.running.size > 0) && Date.now() < deadline) await sleep(10);
      await sleep(0);
      for (const socket of wss.clients) socket.close(WsClose.GOING_AWAY, 'Going away');
      const grace = setTimeout(() => {
        for (const socket of wss.clients) socket.terminate();
      }, SHUTDOWN_CLOSE_GRACE_MS);
      await new Promise<void>((resolve) => {
        const check = () => (wss.clients.size === 0 ? resolve() : setTimeout(check, 10));
        check();
      });
      clearTimeout(grace);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function rolesKey(roles: readonly string[]): string {
  return [...roles].sort().join(',');
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function refuseUpgrade(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n`);
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
