import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Budget } from '../config/config.js';
import { makeLimiter, rateLimitedError, type AuditMeta } from '../core/rate-limits.js';
import type { Logger } from '../platform/logger.js';
import type { Redis } from '../platform/redis.js';

/**
 * startOAuth calls per client address (RATE_LIMIT_OAUTH_ADDRESS): each one
 * is public and writes a flow row, so an anonymous caller must not be able
 * to fill the table. Same store as the login limits: memory, or Redis with
 * memory as insurance.
 */
export class OAuthRateLimit {
  private readonly perAddress: RateLimiterAbstract;

  constructor(
    budget: Budget,
    private readonly logger: Logger,
    redis: { readonly client: Redis; readonly prefix: string } | null,
  ) {
    this.perAddress = makeLimiter(redis, 'oauth-address', budget.points, budget.duration);
  }

  /** Charges one startOAuth; throws RATE_LIMITED (with retryAfter) when the address's budget is spent. */
  async charge(meta: AuditMeta): Promise<void> {
    try {
      await this.perAddress.consume(meta.clientAddress);
    } catch (rejection) {
      throw rateLimitedError(this.logger, 'startOAuth', rejection, meta);
    }
  }
}
