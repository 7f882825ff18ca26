import { CloseCode } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { Credential } from '../credentials.js';
import type { Logger } from '../../platform/logger.js';
import type { RequestMeta } from '../../platform/request-meta.js';

/** The contract's close codes (docs/api.md, "Subscriptions"); 4401 is never used for auth. */
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

/** What graphql-ws's context carries for each socket. */
export interface Extra {
  readonly connection: Connection;
}

/** Who an authenticated socket belongs to, and how to stop watching its credential. */
export interface ConnectionAuth {
  readonly userId: string;
  readonly sessionId: string;
  readonly unwatch: () => void;
}

/** How long a close decided while operations run waits for them, at most. */
const PENDING_CLOSE_MAX_MS = 1_000;

/** One socket, from upgrade to close: its credential, its running operations, and how it closes. */
export class Connection {
  /** The credential from `connection_init`, parsed once; every operation's context is built from it. */
  credential: Credential = { kind: 'none' };
  private auth: ConnectionAuth | null = null;
  /** Ids of the queries and mutations running on this socket (a close, and graceful shutdown, wait for them). */
  private readonly running = new Set<string>();
  /** A close decided while operations were running, applied when they end. */
  private pendingClose: { readonly code: number; readonly reason: string; readonly timer: NodeJS.Timeout } | null = null;

  constructor(
    readonly socket: WebSocket,
    readonly meta: RequestMeta,
    private readonly logger: Logger,
  ) {}

  /** Whether the socket is open (not yet closing). */
  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** Whether a query or mutation is running on the socket. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Records the user `connection_init` authenticated; the credential is watched until the socket closes. */
  authenticated(auth: ConnectionAuth): void {
    this.auth = auth;
  }

  /**
   * Closes the socket. A query or mutation running on it (a `logout` sent
   * over the socket itself) answers first, then the socket closes; at most a
   * second later. The first close decided wins.
   */
  close(code: number, reason: string): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
    if (this.running.size > 0 && this.pendingClose === null) {
      const timer = setTimeout(() => this.flushClose(), PENDING_CLOSE_MAX_MS);
      timer.unref();
      this.pendingClose = { code, reason, timer };
      return;
    }
    if (this.pendingClose !== null) return;
    if (this.auth) {
      const { userId, sessionId } = this.auth;
      this.logger.info({ event: 'ws.closed', code, reason, userId, sessionId, clientAddress: this.meta.clientAddress }, 'ws.closed');
    }
    // No longer watched at once: a socket waiting for the peer's close frame no longer counts against its user.
    this.auth?.unwatch();
    socket.close(code, reason);
  }

  /** A query or mutation started. */
  operationStarted(id: string): void {
    this.running.add(id);
  }

  /** An operation completed; a pending close is applied once none runs. */
  operationEnded(id: string): void {
    this.running.delete(id);
    // graphql-ws sends `complete` right after this returns: close after it.
    if (this.pendingClose !== null && this.running.size === 0) setImmediate(() => this.flushClose());
  }

  /** The socket is gone: nothing is pending or watched any more. */
  disposed(): void {
    if (this.pendingClose) clearTimeout(this.pendingClose.timer);
    this.auth?.unwatch();
  }

  private flushClose(): void {
    const pending = this.pendingClose;
    if (pending === null) return;
    clearTimeout(pending.timer);
    this.running.clear();
    this.pendingClose = null;
    this.close(pending.code, pending.reason);
  }
}
