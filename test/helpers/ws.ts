import { createClient, type Client, type ClientOptions, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** How a socket ended, as the client saw it. */
export interface Closed {
  readonly code: number;
  readonly reason: string;
  /** Milliseconds since the connection helper was created (for latency figures, never asserted beyond the contract's bound). */
  readonly at: number;
}

/** A graphql-ws client (the real one, over `ws`) with its close events recorded. */
export interface WsConnection {
  readonly client: Client;
  /** Resolves on the first close. */
  readonly closed: Promise<Closed>;
  /** Every close, in order (a retrying client may close several times). */
  readonly closes: Closed[];
  /** Resolves once the server acknowledged `connection_init`. */
  readonly connected: Promise<void>;
  /** How many times the client got `connection_ack`. */
  connections(): number;
  dispose(): Promise<void>;
}

/** The ws:// URL of a test server's /graphql. */
export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/**
 * Connects at once (lazy: false) and records every close. By default it does
 * not retry, so a test sees the server's close code; pass retryAttempts to
 * test reconnecting.
 */
export function connectWs(httpUrl: string, options: Partial<ClientOptions> & { token?: string } = {}): WsConnection {
  const started = Date.now();
  const closes: Closed[] = [];
  let acks = 0;
  let resolveClosed!: (closed: Closed) => void;
  let resolveConnected!: () => void;
  let rejectConnected!: (error: Error) => void;
  const closed = new Promise<Closed>((resolve) => (resolveClosed = resolve));
  const connected = new Promise<void>((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  connected.catch(() => undefined);
  const { token, ...rest } = options;
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    ...(token !== undefined ? { connectionParams: { authorization: `Bearer ${token}` } } : {}),
    onNonLazyError: () => {},
    ...rest,
    on: {
      connected: () => {
        acks++;
        resolveConnected();
      },
      closed: (event) => {
        const e = event as { code: number; reason: string };
        const record = { code: e.code, reason: String(e.reason), at: Date.now() - started };
        closes.push(record);
        resolveClosed(record);
        rejectConnected(new Error(`closed ${e.code} ${e.reason} before connection_ack`));
      },
      ...rest.on,
    },
  });
  return {
    client,
    closed,
    closes,
    connected,
    connections: () => acks,
    dispose: () => client.dispose() as Promise<void>,
  };
}

/** A subscription's results pulled one at a time, plus its terminal error if any. */
export interface Subscription<T> {
  /** The next result; rejects with the operation's `error` payload, or on timeout. */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<T, unknown>>;
  readonly errors: Promise<unknown>;
  stop(): void;
}

/** Subscribes and buffers results, so a test can await them in order. */
export function subscribe<T = Record<string, unknown>>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T> {
  const buffered: FormattedExecutionResult<T, unknown>[] = [];
  const waiting: Array<{ resolve: (r: FormattedExecutionResult<T, unknown>) => void; reject: (e: unknown) => void }> = [];
  let failure: unknown = null;
  let resolveErrors!: (e: unknown) => void;
  const errors = new Promise<unknown>((resolve) => (resolveErrors = resolve));
  const stop = client.subscribe<T>(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (value) => {
        const w = waiting.shift();
        if (w) w.resolve(value);
        else buffered.push(value);
      },
      error: (error) => {
        failure = error;
        resolveErrors(error);
        for (const w of waiting.splice(0)) w.reject(error);
      },
      complete: () => {},
    },
  );
  return {
    errors,
    stop,
    next(timeoutMs = 5_000) {
      const ready = buffered.shift();
      if (ready) return Promise.resolve(ready);
      if (failure !== null) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no subscription result within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
  };
}

/** Runs one query or mutation over the socket. */
export function execute<T = Record<string, unknown>>(client: Client, query: string, variables?: Record<string, unknown>): Promise<FormattedExecutionResult<T, unknown>> {
  return new Promise((resolve, reject) => {
    let result: FormattedExecutionResult<T, unknown> | undefined;
    client.subscribe<T>(
      { query, ...(variables ? { variables } : {}) },
      { next: (value) => (result = value), error: reject, complete: () => (result ? resolve(result) : reject(new Error('no result'))) },
    );
  });
}

/**
 * Resolves with the close, or rejects when it does not come before the
 * deadline: how a test asserts the contract's "within one second".
 */
export function closedWithin(connection: WsConnection, ms: number): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open ${ms} ms later`)), ms);
    void connection.closed.then((c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

/** Opens a raw socket with the graphql-transport-ws subprotocol (for what the real client never does). */
export function rawSocket(httpUrl: string, headers: Record<string, string> = {}): WebSocket {
  return new WebSocket(wsUrl(httpUrl), 'graphql-transport-ws', { headers });
}

/** The HTTP status of a refused upgrade, or 101 when it was accepted. */
export function upgradeStatus(httpUrl: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = rawSocket(httpUrl, headers);
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

/** Resolves with a raw socket's close code and reason. */
export function rawClosed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
