import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/config.js';
import { AppError, ErrorCode } from '../errors.js';
import type { AuditEntry } from '../sessions/audit-trail.js';
import type { Logger } from '../platform/logger.js';
import type { Redis } from '../platform/redis.js';
import { usernameKey } from '../users/user.js';

const MAX_LOCK_SECONDS = 3_600;
const LOCK_MEMORY_SECONDS = 86_400;
const PAIR_WINDOW_SECONDS = 86_400;

/**
 * A budget of `points` per `duration` seconds, in Redis when configured (shared
 * by every instance) with in-memory counters as insurance while Redis is away.
 */
export function makeLimiter(
  redis: { readonly client: Redis; readonly prefix: string } | null,
  name: string,
  points: number,
  duration: number,
): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
  if (!redis) return memory;
  return new RateLimiterRedis({ storeClient: redis.client, keyPrefix: `${redis.prefix}rl:${name}`, points, duration, insuranceLimiter: memory });
}

/** The request facts an audit line carries. */
export interface AuditMeta {
  readonly clientAddress: string;
  readonly requestId: string;
  readonly userAgent?: string | null;
}

/** What a caller of login must do after the password check. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
  failed(): Promise<void>;
  /** The check could not be made (the database is away): not the caller's failure, so the charge is given back. */
  abandoned(): Promise<void>;
  /**
   * The password was right but a second factor is still due: the charge is
   * given back, and the pair's earlier failures stay counted (unlike
   * succeeded), so a known password never resets the budget for guessing codes.
   */
  deferred(): Promise<void>;
}

/** How a check guarded by the login budgets ended: what the charge becomes, and what the caller gets. */
export type AttemptResult<T> =
  /** The secret was right: the pair's failures are forgiven and the charge given back. */
  | { readonly outcome: 'succeeded'; readonly value: T }
  /** The secret was wrong: the charge stays, and may lock the pair. */
  | { readonly outcome: 'failed'; readonly error: Error }
  /** Right, but a second factor is still due (see LoginAttempt.deferred). */
  | { readonly outcome: 'deferred'; readonly error: Error }
  /** Nothing was checked (a token already dead): the charge is given back. */
  | { readonly outcome: 'abandoned'; readonly error: Error };

/**
 * Brute-force protection for login, signup and refreshToken.
 *
 * Every attempt is charged before any password is hashed (so 100 aliased
 * `login` fields, or 100 parallel requests, meet the limit instead of racing
 * past it), and a successful login gives its charge back. A locked caller
 * gets RATE_LIMITED even with the right password. Keys are the normalized
 * username and the client address only: the answer never depends on whether
 * the username exists. Counters live in memory, or in Redis when configured so
 * every instance shares them; while Redis is away, each instance falls back
 * to its own memory counters rather than letting attempts through unlimited.
 */
export class AuthRateLimits {
  private readonly pair: RateLimiterAbstract;
  private readonly pairLocks: RateLimiterAbstract;
  private readonly perUsername: RateLimiterAbstract;
  private readonly perAddress: RateLimiterAbstract;
  private readonly signup: RateLimiterAbstract;
  private readonly refresh: RateLimiterAbstract;
  private readonly connections: RateLimiterAbstract | null;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly logger: Logger,
    redis: { readonly client: Redis; readonly prefix: string } | null,
    connectionsPerAddress: { readonly points: number; readonly duration: number } | null = null,
    /** Where a lock is recorded in the audit trail (`login.locked`); nowhere when absent (the CLI). */
    private readonly recordAudit: ((entry: AuditEntry) => Promise<void>) | null = null,
  ) {
    const make = (name: string, points: number, duration: number) => makeLimiter(redis, name, points, duration);
    this.pair = make('login-pair', config.loginPair, PAIR_WINDOW_SECONDS);
    this.pairLocks = make('login-pair-locks', 1_000_000, LOCK_MEMORY_SECONDS);
    this.perUsername = make('login-username', config.loginPerUsername.points, config.loginPerUsername.duration);
    this.perAddress = make('login-address', config.loginPerAddress.points, config.loginPerAddress.duration);
    this.signup = make('signup-address', config.signupPerAddress.points, config.signupPerAddress.duration);
    this.refresh = make('refresh-address', config.refreshPerAddress.points, config.refreshPerAddress.duration);
    this.connections = connectionsPerAddress ? make('ws-address', connectionsPerAddress.points, connectionsPerAddress.duration) : null;
  }

  /** Charges a login attempt; throws RATE_LIMITED when any budget is spent. */
  private async beginLogin(username: string, meta: AuditMeta): Promise<LoginAttempt> {
    const address = meta.clientAddress;
    const user = keyOf(username);
    const pairKey = `${user}|${address}`;
    const charged: Array<[RateLimiterAbstract, string]> = [];
    try {
      for (const [limiter, key] of [
        [this.pair, pairKey],
        [this.perUsername, user],
        [this.perAddress, address],
      ] as Array<[RateLimiterAbstract, string]>) {
        await limiter.consume(key);
        charged.push([limiter, key]);
      }
    } catch (rejection) {
      // A refused attempt is not a failure to count: give back what it was charged.
      await Promise.all(charged.map(([limiter, key]) => limiter.reward(key)));
      throw this.limited('login', rejection, meta, { username: user });
    }
    const refund = () => Promise.all(charged.map(([limiter, key]) => limiter.reward(key))).then(() => undefined);
    return {
      abandoned: refund,
      deferred: refund,
      succeeded: async () => {
        // A successful login clears the pair's count; it was no failure for the others.
        await Promise.all([this.pair.delete(pairKey), this.pairLocks.delete(pairKey), this.perUsername.reward(user), this.perAddress.reward(address)]);
      },
      failed: async () => {
        const state = await this.pair.get(pairKey);
        if (state !== null && state.consumedPoints >= this.config.loginPair) {
          // Locked: growing backoff, doubling with each lock of this pair within a day.
          const locks = await this.pairLocks.consume(pairKey);
          const seconds = Math.min(this.config.loginPairLock * 2 ** (locks.consumedPoints - 1), MAX_LOCK_SECONDS);
          await this.pair.block(pairKey, seconds);
          this.logger.warn({ event: 'auth.login_locked', username: user, lockSeconds: seconds, clientAddress: address, requestId: meta.requestId }, 'auth.login_locked');
          // About a username, not a user: the check that failed may not have found one.
          await this.recordAudit?.({
            type: 'login.locked',
            userId: null,
            meta: { clientAddress: address, userAgent: meta.userAgent ?? null },
            details: { username: user, lockSeconds: seconds },
          });
        }
      },
    };
  }

  /**
   * The login-attempt protocol, written once: charge the budgets of
   * `username` and the caller's address, run the check, then settle the
   * charge by its outcome. A check that throws (the database is away) is
   * abandoned, not failed. Every secret guessed against an account goes
   * through here: passwords, TOTP and recovery codes, the current password
   * of changePassword.
   */
  async guardLogin<T>(username: string, meta: AuditMeta, check: () => Promise<AttemptResult<T>>): Promise<T> {
    const attempt = await this.beginLogin(username, meta);
    let result: AttemptResult<T>;
    try {
      result = await check();
    } catch (error) {
      await attempt.abandoned();
      throw error;
    }
    await attempt[result.outcome]();
    if (result.outcome === 'succeeded') return result.value;
    throw result.error;
  }

  /** Charges a signup attempt. */
  async chargeSignup(meta: AuditMeta): Promise<void> {
    await this.charge(this.signup, meta, 'signup');
  }

  /** Charges a refresh; checked before the token is looked at, so a refused call does not use it up. */
  async chargeRefresh(meta: AuditMeta): Promise<void> {
    await this.charge(this.refresh, meta, 'refreshToken');
  }

  /** Charges a WebSocket connection attempt, before the upgrade is accepted. */
  async chargeConnection(meta: AuditMeta): Promise<void> {
    if (this.connections) await this.charge(this.connections, meta, 'websocket');
  }

  private async charge(limiter: RateLimiterAbstract, meta: AuditMeta, operation: string): Promise<void> {
    try {
      await limiter.consume(meta.clientAddress);
    } catch (rejection) {
      throw this.limited(operation, rejection, meta, {});
    }
  }

  private limited(operation: string, rejection: unknown, meta: AuditMeta, fields: Record<string, string>): Error {
    return rateLimitedError(this.logger, operation, rejection, meta, fields);
  }
}

/** The RATE_LIMITED error for a limiter's rejection (with its audit line), or the limiter's own failure passed on. */
export function rateLimitedError(logger: Logger, operation: string, rejection: unknown, meta: AuditMeta, fields: Record<string, string> = {}): Error {
  if (!(rejection instanceof RateLimiterRes)) return rejection instanceof Error ? rejection : new Error(String(rejection));
  const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
  logger.warn(
    { event: 'auth.rate_limited', operation, retryAfter, ...fields, clientAddress: meta.clientAddress, requestId: meta.requestId },
    'auth.rate_limited',
  );
  return new AppError(ErrorCode.RATE_LIMITED, `Too many attempts; try again in ${retryAfter} s.`, { retryAfter });
}

/** The counter key of a username: normalized, and bounded (a 100 KB username must not become a 100 KB key). */
function keyOf(username: string): string {
  const key = usernameKey(username);
  return key.length <= 64 ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`;
}
