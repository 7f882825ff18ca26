import { z } from 'zod';
import { duration, int } from './fields.js';

/** Metrics, background pruning and the password-hashing queue (../shared/API.md, "Operations"). */
export interface OperationsConfig {
  /** Bearer token for GET /metrics; null serves /metrics openly outside production and not at all in production. */
  readonly metricsToken: string | null;
  /** Seconds between pruning runs; 0 turns the pruner off. */
  readonly pruneInterval: number;
  /** Seconds an ended or expired session (and its refresh tokens) is kept, for audit, before it is deleted. */
  readonly sessionRetention: number;
  /**
   * Seconds a used refresh token is kept. While it is kept, presenting it
   * again is detected as theft and ends the session; once deleted it is
   * merely invalid. Never shorter than the reuse grace window.
   */
  readonly refreshTokenRetention: number;
  /** Rows deleted per statement: each batch is a short transaction of its own. */
  readonly pruneBatchSize: number;
  /** Argon2 hashes computed at once (each holds ARGON2_MEMORY_KIB); further logins wait their turn. */
  readonly hashConcurrency: number;
}

/** The environment variables of this section, merged into config.ts's schema. */
export const operationsSchema = {
  METRICS_TOKEN: z.string().min(16, { message: 'METRICS_TOKEN must be at least 16 characters' }).optional(),
  PRUNE_INTERVAL: duration('PRUNE_INTERVAL', 7 * 86_400).default(3_600),
  SESSION_RETENTION: duration('SESSION_RETENTION', 3_650 * 86_400).default(30 * 86_400),
  REFRESH_TOKEN_RETENTION: duration('REFRESH_TOKEN_RETENTION', 3_650 * 86_400).default(7 * 86_400),
  PRUNE_BATCH_SIZE: int('PRUNE_BATCH_SIZE', 10, 100_000).default(1_000),
  HASH_CONCURRENCY: int('HASH_CONCURRENCY', 1, 64).default(2),
};

type OperationsEnv = z.output<z.ZodObject<typeof operationsSchema>>;

/** Problems across variables, reported with the rest of loadConfig's. */
export function checkOperations(e: OperationsEnv, refreshReuseGrace: number): string[] {
  return e.REFRESH_TOKEN_RETENTION < refreshReuseGrace ? ['REFRESH_TOKEN_RETENTION must not be shorter than REFRESH_REUSE_GRACE'] : [];
}

/** The frozen section. */
export function operationsConfig(e: OperationsEnv): OperationsConfig {
  return Object.freeze({
    metricsToken: e.METRICS_TOKEN ?? null,
    pruneInterval: e.PRUNE_INTERVAL,
    sessionRetention: e.SESSION_RETENTION,
    refreshTokenRetention: e.REFRESH_TOKEN_RETENTION,
    pruneBatchSize: e.PRUNE_BATCH_SIZE,
    hashConcurrency: e.HASH_CONCURRENCY,
  });
}
