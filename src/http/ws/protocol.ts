import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../platform/logger.js';
import { Connection, WsClose, type Extra } from './connection.js';
import type { OperationHooks } from './operations.js';

/** What the protocol adapter needs. */
export interface ProtocolDeps {
  readonly schema: GraphQLSchema;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** SUBSCRIPTIONS_INIT_TIMEOUT in ms (then 4408). */
  readonly initTimeoutMs: number;
  /** `connection_init`: true acknowledges it; false refuses it (the hook has closed the socket). */
  readonly onConnect: (conn: Connection, params: Readonly<Record<string, unknown>> | undefined) => Promise<boolean>;
  readonly operations: OperationHooks;
  /** Called with the number of open sockets whenever it changes. */
  readonly onCountChange: (count: number) => void;
}

/** graphql-ws on ws sockets. */
export interface Protocol {
  /** Completes an upgrade: the socket speaks graphql-transport-ws from now on. */
  accept(request: IncomingMessage, socket: Duplex, head: Buffer, clientAddress: string): void;
  /** Open sockets (anonymous ones included). */
  connectionCount(): number;
  /** Lets in-flight queries and mutations finish, then closes every socket with 1001. */
  shutdown(): Promise<void>;
}

const KEEP_ALIVE_MS = 12_000;
const SHUTDOWN_DRAIN_MS = 5_000;
const SHUTDOWN_CLOSE_GRACE_MS = 1_000;

/**
 * graphql-ws's protocol on ws sockets: its own `use/ws` adapter, kept here so
 * errors go to our logger (never to a client's close reason), keep-alive is
 * ours, and shutdown drains before it closes.
 */
export function createProtocol(deps: ProtocolDeps): Protocol {
  const { logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxMessageBytes, handleProtocols: (protocols) => handleProtocols(protocols) });
  const connections = new Set<Connection>();
  const graphqlWs = makeServer<Record<string, unknown>, Extra>({
    schema: deps.schema,
    connectionInitWaitTimeout: deps.initTimeoutMs,
    onConnect: (ctx) => deps.onConnect(ctx.extra.connection, ctx.connectionParams),
    ...deps.operations,
  });

  const opened = (socket: WebSocket, request: IncomingMessage, clientAddress: string) => {
    const conn = new Connection(socket, { userAgent: request.headers['user-agent'] ?? null, clientAddress, requestId: randomUUID() }, logger);
    connections.add(conn);
    deps.onCountChange(connections.size);
    const fail = (error: unknown) => {
      logger.error({ err: error }, 'internal error on a WebSocket');
      conn.close(CloseCode.InternalServerError, 'Internal server error');
    };
    // ws reports protocol violations (an oversized message: 1009) here, then closes by itself.
    socket.on('error', (error) => logger.debug({ err: error, clientAddress }, 'WebSocket error'));
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
      { connection: conn },
    );
    socket.once('close', (code, reason) => {
      clearInterval(keepAlive);
      conn.disposed();
      if (connections.delete(conn)) deps.onCountChange(connections.size);
      closed(code, reason.toString()).catch((error: unknown) => logger.error({ err: error }, 'error while closing a WebSocket'));
    });
  };

  return {
    accept(request, socket, head, clientAddress) {
      wss.handleUpgrade(request, socket, head, (ws) => opened(ws, request, clientAddress));
    },
    connectionCount: () => connections.size,
    async shutdown() {
      // In-flight queries and mutations finish and their answers are sent; then every socket goes.
      const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
      while ([...connections].some((conn) => conn.busy) && Date.now() < deadline) await sleep(10);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
