import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Db } from '../../db/database.js';
import type { Logger } from '../../platform/logger.js';
import type { Redis } from '../../platform/redis.js';
import { readSessionCheck } from '../session.repository.js';
import type { AuthChange, SessionCheck, SessionGuard } from '../session-guard.js';

/** A value read from the database, valid while the user's epoch is still `epoch`. */
interface CachedUnderEpoch<T> {
  readonly userId: string;
  readonly epoch: string;
  readonly value: T;
}

/**
 * The session check of several instances sharing Redis.
 *
 * Each user has an "auth epoch" in Redis, a random value replaced whenever
 * one of their sessions ends or their roles change. Instances cache each
 * session's check together with the epoch it was read under; a request costs
 * one Redis GET, and the database is read again only when the epoch moved.
 * Random values rather than a counter: an expired or lost key can never make
 * an old cached epoch match again.
 *
 * A write replaces the epoch before it commits (and refuses to run when Redis
 * cannot be reached: failing closed, so no instance can keep trusting a cache
 * that missed it) and again after it commits (so a read that raced the write
 * is discarded). While Redis is unreachable, checks fall back to the
 * database, which is always current; when it comes back, the local cache is
 * dropped, since epochs may have moved unseen.
 */
export class RedisSessionGuard implements SessionGuard {
  private readonly cache: LRUCache<string, CachedUnderEpoch<SessionCheck>>;
  /** Other user state (API keys), cached under the same epochs. */
  private readonly states: LRUCache<string, CachedUnderEpoch<unknown>>;
  private degraded = false;

  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly options: { readonly prefix: string; readonly epochTtlSeconds: number; readonly logger: Logger; readonly maxEntries?: number },
  ) {
    this.cache = new LRUCache({ max: options.maxEntries ?? 50_000 });
    this.states = new LRUCache({ max: options.maxEntries ?? 50_000 });
    redis.on('close', () => {
      this.degraded = true;
    });
    redis.on('ready', () => {
      if (this.degraded) this.clearCaches();
      this.degraded = false;
    });
  }

  checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    return this.underEpoch(this.cache, sessionId, userId, () => readSessionCheck(this.db, sessionId, userId));
  }

  /** A user's state other than a session (an API key's), cached by the same protocol as checkSession. */
  checkUserState<T>(key: string, userId: string, load: () => Promise<T>): Promise<T> {
    return this.underEpoch(this.states as LRUCache<string, CachedUnderEpoch<T>>, key, userId, load);
  }

  /**
   * The one caching protocol: the user's epoch is read before the database,
   * so a read racing a write is cached under an epoch the write replaced and
   * never served again. While Redis is unreachable every read goes to the
   * database, and what was cached under epochs we cannot see is forgotten.
   */
  private async underEpoch<T>(cache: LRUCache<string, CachedUnderEpoch<T>>, key: string, userId: string, load: () => Promise<T>): Promise<T> {
    let epoch: string;
    try {
      if (this.redis.status !== 'ready') throw new Error('redis not ready');
      epoch = await this.readEpoch(userId);
    } catch {
      this.degraded = true;
      this.clearCaches();
      return load();
    }
    this.recover();
    const hit = cache.get(key);
    if (hit !== undefined && hit.epoch === epoch && hit.userId === userId) return hit.value;
    const value = await load();
    cache.set(key, { userId, epoch, value });
    return value;
  }

  async beforeChange(userId: string): Promise<void> {
    await this.bumpEpoch(userId);
  }

  async afterChange(userId: string, change: AuthChange): Promise<void> {
    for (const id of change.endedSessionIds ?? []) this.cache.delete(id);
    try {
      await this.bumpEpoch(userId);
    } catch (error) {
      // The write is committed; only a Redis loss in the last milliseconds gets here.
      this.options.logger.error({ err: error, userId }, 'could not publish an auth change to Redis after commit');
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    // The Redis connection belongs to the app, which closes it.
  }

  private clearCaches(): void {
    this.cache.clear();
    this.states.clear();
  }

  /** Back after a failure the connection survived: epochs may have moved unseen. */
  private recover(): void {
    if (!this.degraded) return;
    this.clearCaches();
    this.degraded = false;
  }

  /**
   * The user's current epoch. A missing key (never set, expired, evicted,
   * flushed) gets a fresh random value, never a fixed "initial" one: an entry
   * cached under an epoch that vanished must not match again.
   */
  private async readEpoch(userId: string): Promise<string> {
    const key = this.epochKey(userId);
    const epoch = await this.redis.get(key);
    if (epoch !== null) return epoch;
    const fresh = randomUUID();
    // SET NX GET (Redis 7): another instance may have set it a moment ago; then use theirs.
    const existing = (await this.redis.call('SET', key, fresh, 'NX', 'GET', 'EX', String(this.options.epochTtlSeconds))) as string | null;
    return existing ?? fresh;
  }

  private async bumpEpoch(userId: string): Promise<void> {
    await this.redis.set(this.epochKey(userId), randomUUID(), 'EX', this.options.epochTtlSeconds);
  }

  private epochKey(userId: string): string {
    return `${this.options.prefix}auth-epoch:${userId}`;
  }
}
