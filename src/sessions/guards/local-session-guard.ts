import { LRUCache } from 'lru-cache';
import type { Db } from '../../db/database.js';
import type { User } from '../../users/user.js';
import { findSessionState } from '../session.repository.js';
import type { AuthChange, SessionCheck, SessionGuard } from '../session-guard.js';

interface SessionState {
  readonly userId: string;
  readonly ended: boolean;
}

/**
 * The session check of a single instance (embedded SQLite): no query on the
 * hot path. Session and user state are cached in process and written through
 * by the services on every change, before the changing request answers. That
 * is exact because every write goes through this process.
 *
 * Ended sessions are cached as ended, never deleted, and a value read from the
 * database is only stored when no entry appeared meanwhile: so a read that
 * raced a logout can never put the session back to "open".
 */
export class LocalSessionGuard implements SessionGuard {
  private readonly sessions: LRUCache<string, SessionState>;
  private readonly users: LRUCache<string, User>;
  private readonly readState: typeof findSessionState;

  constructor(
    private readonly db: Db,
    options: {
      readonly maxEntries?: number;
      /** How state is read from the database (service tests slow it down to drive the read/write race). */
      readonly readState?: typeof findSessionState;
    } = {},
  ) {
    this.readState = options.readState ?? findSessionState;
    const max = options.maxEntries ?? 50_000;
    this.sessions = new LRUCache({ max });
    this.users = new LRUCache({ max });
  }

  async checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    let session = this.sessions.get(sessionId);
    let user = this.users.get(userId);
    if (session === undefined || user === undefined) {
      const loaded = await this.load(sessionId);
      session ??= loaded?.session;
      user ??= loaded?.user;
    }
    if (session === undefined || session.ended || session.userId !== userId || user === undefined) return { active: false };
    return { active: true, user };
  }

  async beforeChange(): Promise<void> {}

  async afterChange(userId: string, change: AuthChange): Promise<void> {
    for (const id of change.endedSessionIds ?? []) this.sessions.set(id, { userId, ended: true });
    if (change.user) this.users.set(change.user.id, change.user);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}

  private async load(sessionId: string): Promise<{ session: SessionState; user: User } | null> {
    const row = await this.readState(this.db, sessionId);
    if (row === null) return null;
    if (!this.sessions.has(sessionId)) this.sessions.set(sessionId, { userId: row.userId, ended: row.ended });
    if (!this.users.has(row.userId)) this.users.set(row.userId, row.user);
    return { session: this.sessions.get(sessionId)!, user: this.users.get(row.userId)! };
  }
}
