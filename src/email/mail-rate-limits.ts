import { createHash } from 'node:crypto';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Budget } from '../config/config.js';
import type { Logger } from '../platform/logger.js';
import type { Redis } from '../platform/redis.js';
import { makeLimiter, rateLimitedError, type AuditMeta } from '../core/rate-limits.js';

/**
 * The email flows' limits (docs/api.md, "Email"): reset or verification
 * mails per recipient address, silent beyond (the caller learns nothing about
 * the address), and requestPasswordReset calls per client address, answered
 * RATE_LIMITED beyond. Same store as the login limits: memory, or Redis with
 * memory as insurance.
 */
export class MailRateLimits {
  private readonly perRecipient: RateLimiterAbstract;
  private readonly resetPerClient: RateLimiterAbstract;

  constructor(
    budgets: { readonly perRecipient: Budget; readonly resetPerClient: Budget },
    private readonly logger: Logger,
    redis: { readonly client: Redis; readonly prefix: string } | null,
  ) {
    this.perRecipient = makeLimiter(redis, 'mail-recipient', budgets.perRecipient.points, budgets.perRecipient.duration);
    this.resetPerClient = makeLimiter(redis, 'reset-address', budgets.resetPerClient.points, budgets.resetPerClient.duration);
  }

  /** Charges a requestPasswordReset call to the client address; throws RATE_LIMITED when its budget is spent. */
  async chargeResetRequest(meta: AuditMeta): Promise<void> {
    try {
      await this.resetPerClient.consume(meta.clientAddress);
    } catch (rejection) {
      throw rateLimitedError(this.logger, 'requestPasswordReset', rejection, meta);
    }
  }

  /**
   * Charges one mail to a recipient address key; false (silently) when its
   * budget is spent. The key is hashed: the store never holds an address.
   */
  async tryChargeRecipient(emailKey: string): Promise<boolean> {
    try {
      await this.perRecipient.consume(createHash('sha256').update(emailKey, 'utf8').digest('base64url'));
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false;
      throw rejection;
    }
  }
}
