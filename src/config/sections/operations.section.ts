import { z } from 'zod';
import { duration, int } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Metrics, background pruning and the password-hashing queue (docs/api.md, "Operations"). */
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
  /** Seconds an audit event is kept before it is deleted. */
  readonly auditRetention: number;
  /** Rows deleted per statement: each batch is a short transaction of its own. */
  readonly pruneBatchSize: number;
  /** Argon2 hashes computed at once (each holds ARGON2_MEMORY_KIB); further logins wait their turn. */
  readonly hashConcurrency: number;
}

const fields = {
  METRICS_TOKEN: z.string().min(16, { message: 'METRICS_TOKEN must be at least 16 characters' }).optional(),
  PRUNE_INTERVAL: duration('PRUNE_INTERVAL', 7 * 86_400).prefault('1h'),
  SESSION_RETENTION: duration('SESSION_RETENTION', 3_650 * 86_400).prefault('30d'),
  REFRESH_TOKEN_RETENTION: duration('REFRESH_TOKEN_RETENTION', 3_650 * 86_400).prefault('7d'),
  AUDIT_RETENTION: duration('AUDIT_RETENTION', 3_650 * 86_400).prefault('90d'),
  PRUNE_BATCH_SIZE: int('PRUNE_BATCH_SIZE', 10, 100_000).prefault('1000'),
  HASH_CONCURRENCY: int('HASH_CONCURRENCY', 1, 64).prefault('2'),
};

/** Metrics, pruning and the hashing queue. */
export const operationsSection: ConfigSection<typeof fields, { readonly operations: OperationsConfig }, { REFRESH_REUSE_GRACE: number }> = {
  title: 'Operations',
  notes:
    'See [Metrics](../operations/metrics.md), [Pruning and retention](../operations/pruning.md) and [Memory](../operations/process.md).',
  fields,
  docs: {
    METRICS_TOKEN: {
      default: 'none',
      description:
        'Bearer token for `GET /metrics` (at least 16 characters). Unset: `/metrics` is open outside production and answers 404 in production.',
    },
    PRUNE_INTERVAL: 'How often old rows are pruned in the background (the first run one interval after start); `0s` turns pruning off. At most `7d`.',
    SESSION_RETENTION: 'How long an ended or expired session (with its refresh tokens) is kept, for audit, before it is deleted.',
    REFRESH_TOKEN_RETENTION:
      'How long a used refresh token is kept. While it is kept, presenting it again is caught as theft and ends the session; once deleted it is only invalid. Never shorter than `REFRESH_REUSE_GRACE`.',
    AUDIT_RETENTION: 'How long an audit event (`auditEvents`, `myAuditEvents`) is kept before it is pruned. At most `3650d`.',
    PRUNE_BATCH_SIZE: 'Rows deleted per statement (10–100000); each batch is its own short transaction.',
    HASH_CONCURRENCY:
      'Argon2 hashes computed at once; further logins, signups and password changes wait their turn (each hash holds `ARGON2_MEMORY_KIB`). 1–64.',
  },
  check: ({ parsed }) =>
    parsed && parsed.REFRESH_TOKEN_RETENTION < parsed.REFRESH_REUSE_GRACE ? ['REFRESH_TOKEN_RETENTION must not be shorter than REFRESH_REUSE_GRACE'] : [],
  build: (e) => ({
    operations: Object.freeze({
      metricsToken: e.METRICS_TOKEN ?? null,
      pruneInterval: e.PRUNE_INTERVAL,
      sessionRetention: e.SESSION_RETENTION,
      refreshTokenRetention: e.REFRESH_TOKEN_RETENTION,
      auditRetention: e.AUDIT_RETENTION,
      pruneBatchSize: e.PRUNE_BATCH_SIZE,
      hashConcurrency: e.HASH_CONCURRENCY,
    }),
  }),
};
