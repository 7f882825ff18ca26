import type { Db } from '../../db/database.js';
import { readSessionCheck } from '../session.repository.js';
import type { SessionCheck, SessionGuard } from '../session-guard.js';

/**
 * The session check of several instances sharing PostgreSQL without Redis:
 * every request reads the database, so a logout on one instance is seen by
 * all on the very next request (a revocation window of zero), at the cost of
 * one primary-key query per authenticated request.
 */
export class DatabaseSessionGuard implements SessionGuard {
  constructor(private readonly db: Db) {}

  checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    return readSessionCheck(this.db, sessionId, userId);
  }

  /** No cache here either: read every time. */
  checkUserState<T>(_key: string, _userId: string, load: () => Promise<T>): Promise<T> {
    return load();
  }

  async beforeChange(): Promise<void> {}

  async afterChange(): Promise<void> {}

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
