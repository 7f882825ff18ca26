import type { Db } from '../db/database.js';
import type { PruneTask } from '../platform/pruner.js';
import { pruneSessions, pruneUsedRefreshTokens } from './session.repository.js';

/** How long finished rows are kept (OperationsConfig), in seconds. */
export interface SessionRetention {
  /** An ended or expired session is kept this long after it ended or expired. */
  readonly sessionRetention: number;
  /** A used refresh token is kept this long after its first use (reuse is detected as theft while it is kept). */
  readonly refreshTokenRetention: number;
}

/**
 * The pruner's tasks for sessions: used refresh tokens past their retention,
 * then sessions ended, then sessions expired, past theirs. Open sessions,
 * live refresh tokens and recently used ones are never touched.
 */
export function sessionPruneTasks(db: Db, retention: SessionRetention): PruneTask[] {
  const sessionCutoff = (now: number) => now - retention.sessionRetention * 1000;
  return [
    { name: 'used_refresh_tokens', prune: (now, limit) => pruneUsedRefreshTokens(db, now - retention.refreshTokenRetention * 1000, limit) },
    { name: 'ended_sessions', prune: (now, limit) => pruneSessions(db, 'ended', sessionCutoff(now), limit) },
    { name: 'expired_sessions', prune: (now, limit) => pruneSessions(db, 'expired', sessionCutoff(now), limit) },
  ];
}
