import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Db } from '../db/database.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../platform/logger.js';
import type { Redis as SharedRedis } from '../platform/redis.js';
import type { Redis } from 'ioredis';
import { loadIoredis, loadPg } from '../platform/lazy-packages.js';
import { decodeWireMessage, encodeWireMessage, type AuthEvent } from './auth-events.js';

/**
 * Whether the bus can vouch that every event reaches this instance. `down`:
 * events may be missed (the subscriber connection is lost); `up` again after
 * it came back, when listeners must re-check what they hold, because events
 * published meanwhile are gone for good (pub/sub keeps no backlog).
 */
export type BusStatus = 'up' | 'down';

/** Where an event was written: on this instance (`local`, heard at publish) or on another one. */
export type EventOrigin = 'local' | 'remote';

/** A listener of the bus; it must not throw (a throw is logged and ignored). */
export type AuthEventListener = (event: AuthEvent, origin: EventOrigin) => void;

/**
 * The auth event bus: how the door's events (sessions ended, roles changed,
 * session started) reach every instance, so a socket held by instance B is
 * closed when instance A logs its session out. The instance that did the
 * write publishes; every instance, itself included, hears it. Three
 * implementations, picked like the session guard: Redis pub/sub, PostgreSQL
 * LISTEN/NOTIFY, or in process (embedded SQLite: one instance sees every write).
 */
export interface AuthEventBus {
  /** Announces an event to every instance; this one hears it at once, synchronously. Never throws. */
  publish(event: AuthEvent): void;
  /** Listens to events from every instance; returns the unsubscribe function. */
  subscribe(listener: AuthEventListener): () => void;
  /** Listens to status changes; returns the unsubscribe function. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  readonly status: BusStatus;
  /** Connects the subscriber; resolves even when it cannot (the bus is then `down` and keeps retrying). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Local fan-out, status bookkeeping and the wire format, shared by every bus. */
abstract class BaseEventBus implements AuthEventBus {
  /** Tells this instance's own messages apart: it heard them already, at publish. */
  protected readonly origin = randomUUID();
  private readonly listeners = new Set<AuthEventListener>();
  private readonly statusListeners = new Set<(status: BusStatus) => void>();
  private current: BusStatus;

  protected constructor(
    protected readonly logger: Logger,
    initial: BusStatus,
  ) {
    this.current = initial;
  }

  get status(): BusStatus {
    return this.current;
  }

  publish(event: AuthEvent): void {
    this.deliver(event, 'local');
    this.send(encodeWireMessage({ origin: this.origin, event })).catch((error: unknown) => {
      // The write is committed; the other instances learn it from their periodic re-check.
      this.logger.error({ err: error, event: event.type }, 'could not publish an auth event to the other instances');
    });
  }

  subscribe(listener: AuthEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (status: BusStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  abstract start(): Promise<void>;
  abstract close(): Promise<void>;

  /** Sends a serialized message to the other instances. */
  protected abstract send(message: string): Promise<void>;

  /** Handles a message heard from the shared channel. */
  protected receive(text: string): void {
    const message = decodeWireMessage(text);
    if (message === null) {
      this.logger.warn('ignored a malformed auth event from the bus');
      return;
    }
    if (message.origin !== this.origin) this.deliver(message.event, 'remote');
  }

  protected setStatus(status: BusStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.logger[status === 'up' ? 'info' : 'warn']({ event: 'auth_bus.status', status }, `auth event bus ${status}`);
    for (const listener of this.statusListeners) {
      try {
        listener(status);
      } catch (error) {
        this.logger.error({ err: error }, 'an auth bus status listener failed');
      }
    }
  }

  private deliver(event: AuthEvent, origin: EventOrigin): void {
    for (const listener of this.listeners) {
      try {
        listener(event, origin);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, 'an auth event listener failed');
      }
    }
  }
}

/** One instance (embedded SQLite): every write happens here, so there is no one else to tell. */
export class LocalEventBus extends BaseEventBus {
  constructor(logger: Logger) {
    super(logger, 'up');
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}

  protected async send(): Promise<void> {}
}

const RECONNECT_MAX_MS = 1_000;

/**
 * Redis pub/sub on a connection of its own (a subscribed connection can run
 * no other command). Publishing uses the app's shared connection.
 */
export class RedisEventBus extends BaseEventBus {
  private readonly subscriber: Redis;
  private readonly channel: string;
  private closing = false;

  constructor(
    private readonly publisher: Redis,
    options: { readonly url: string; readonly prefix: string; readonly logger: Logger },
  ) {
    super(options.logger, 'down');
    this.channel = `${options.prefix}auth-events`;
    this.subscriber = new (loadIoredis().Redis)(options.url, {
      lazyConnect: true,
      // Named so an operator (and the fail-safe test) can find it in CLIENT LIST.
      connectionName: `tokengate-auth-events:${options.prefix}`,
      // We subscribe ourselves on every (re)connect, to know when the subscription is live again.
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_MAX_MS),
    });
    this.subscriber.on('error', () => {}); // expected while Redis is away; the status says so
    this.subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    this.subscriber.on('close', () => this.setStatus('down'));
    this.subscriber.on('ready', () => {
      // Up only once SUBSCRIBE is confirmed: from then on nothing published is missed,
      // so a re-check made after it sees every write whose event was lost before.
      this.subscriber.subscribe(this.channel).then(
        () => this.setStatus('up'),
        (error: unknown) => {
          this.logger.warn({ err: error }, 'could not subscribe to the auth event channel; reconnecting');
          if (!this.closing) this.subscriber.disconnect(true);
        },
      );
    });
  }

  async start(): Promise<void> {
    await this.subscriber.connect().catch((error: unknown) => this.logger.warn({ err: error }, 'the auth event bus cannot reach Redis at start-up; retrying'));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.subscriber.disconnect();
  }

  protected async send(message: string): Promise<void> {
    await this.publisher.publish(this.channel, message);
  }
}

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; events with many session (or API key) ids are split. */
const MAX_SESSION_IDS_PER_NOTIFY = 100;

/**
 * PostgreSQL LISTEN/NOTIFY, for several instances sharing PostgreSQL without
 * Redis. LISTEN needs one connection of its own, outside the pool; NOTIFY goes
 * through the pool.
 */
export class PostgresEventBus extends BaseEventBus {
  static readonly CHANNEL = 'tokengate_auth_events';
  private client: pg.Client | null = null;
  private closing = false;
  private retry: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly db: Db,
    private readonly options: { readonly url: string; readonly logger: Logger },
  ) {
    super(options.logger, 'down');
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  protected async send(message: string): Promise<void> {
    await sql`select pg_notify(${PostgresEventBus.CHANNEL}, ${message})`.execute(this.db);
  }

  override publish(event: AuthEvent): void {
    if (event.type === 'api_keys_revoked' && event.keyIds.length > MAX_SESSION_IDS_PER_NOTIFY) {
      for (let i = 0; i < event.keyIds.length; i += MAX_SESSION_IDS_PER_NOTIFY) super.publish({ ...event, keyIds: event.keyIds.slice(i, i + MAX_SESSION_IDS_PER_NOTIFY) });
      return;
    }
    if (event.type !== 'sessions_ended' || event.sessionIds.length <= MAX_SESSION_IDS_PER_NOTIFY) return super.publish(event);
    for (let i = 0; i < event.sessionIds.length; i += MAX_SESSION_IDS_PER_NOTIFY) {
      super.publish({ ...event, sessionIds: event.sessionIds.slice(i, i + MAX_SESSION_IDS_PER_NOTIFY) });
    }
  }

  private async connect(): Promise<void> {
    if (this.closing) return;
    const client = new (loadPg().Client)({ connectionString: this.options.url, application_name: 'tokengate-auth-events', connectionTimeoutMillis: 3_000, keepAlive: true });
    const lost = (error?: unknown) => {
      if (this.client !== client) return;
      this.client = null;
      if (error) this.logger.warn({ err: error }, 'lost the auth event LISTEN connection; reconnecting');
      this.setStatus('down');
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      if (message.channel === PostgresEventBus.CHANNEL && message.payload !== undefined) this.receive(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PostgresEventBus.CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.logger.warn({ err: error }, 'the auth event bus cannot LISTEN on PostgreSQL; retrying');
      this.setStatus('down');
      this.scheduleReconnect();
      return;
    }
    if (this.closing) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.setStatus('up');
  }

  private scheduleReconnect(): void {
    if (this.closing || this.retry) return;
    this.attempt++;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, Math.min(this.attempt * 100, RECONNECT_MAX_MS));
  }
}

/**
 * Picks how the door's events reach the other instances: Redis pub/sub when
 * configured, PostgreSQL LISTEN/NOTIFY when only PostgreSQL is shared, in
 * process on embedded SQLite (one instance sees every write).
 */
export function createEventBus(config: Pick<Config, 'redis' | 'database'>, db: Db, redis: SharedRedis | null, logger: Logger): AuthEventBus {
  if (config.redis && redis) return new RedisEventBus(redis, { url: config.redis.url, prefix: config.redis.prefix, logger });
  if (config.database.dialect === 'postgres') return new PostgresEventBus(db, { url: config.database.url, logger });
  return new LocalEventBus(logger);
}
