import { LRUCache } from 'lru-cache';
import type { Db } from '../db/database.js';
import { findUserById } from '../users/user.repository.js';
import type { User } from '../users/user.js';
import { findSessionById } from './session.repository.js';

/** What the per-request check needs to know of a session. */
interface SessionState {
  readonly userId: string;
  readonly ended: boolean;
}

/** The outcome of checking an access token's session against current server state. */
export type SessionCheck = { readonly active: true; readonly user: User } | { readonly active: false };

/**
 * The per-request session check, kept off the database.
 *
 * A valid JWT still needs two live facts: is its session still open (logout
 * must work on the very next request) and what are the user's roles now
 * (setUserRoles must too). Reading both from the database on every request
 * would put a query on the hot path, so they are cached here and the cache is
 * written through by the services on every change, before the changing
 * request answers. This is exact as long as every write goes through this
 * process (the embedded SQLite setup); several instances need shared
 * invalidation on top.
 *
 * Ended sessions are cached as ended, never deleted, and a value read from the
 * database is only stored when no entry appeared meanwhile: so a read that
 * raced a logout can never put the session back to "open".
 */
export class AuthState {
  private readonly sessions: LRUCache<string, SessionState>;
  private readonly users: LRUCache<string, User>;

  constructor(
    private readonly db: Db,
    options: { readonly maxEntries?: number } = {},
  ) {
    const max = options.maxEntries ?? 50_000;
    this.sessions = new LRUCache({ max });
    this.users = new LRUCache({ max });
  }

  /** Checks that session `sessionId` of user `userId` is open, and returns the user as they are now. */
  async checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    const session = this.sessions.get(sessionId) ?? (await this.loadSession(sessionId));
    if (session === null || session.ended || session.userId !== userId) return { active: false };
    const user = this.users.get(userId) ?? (await this.loadUser(userId));
    return user === null ? { active: false } : { active: true, user };
  }

  /** Records that sessions ended; call before answering the request that ended them. */
  sessionsEnded(sessionIds: readonly string[], userId: string): void {
    for (const id of sessionIds) this.sessions.set(id, { userId, ended: true });
  }

  /** Records a user's new state (roles changed). */
  userChanged(user: User): void {
    this.users.set(user.id, user);
  }

  private async loadSession(sessionId: string): Promise<SessionState | null> {
    const row = await findSessionById(this.db, sessionId);
    if (row === null) return null;
    const state = { userId: row.userId, ended: row.endedAt !== null };
    if (!this.sessions.has(sessionId)) this.sessions.set(sessionId, state);
    return this.sessions.get(sessionId) ?? state;
  }

  private async loadUser(userId: string): Promise<User | null> {
    const user = await findUserById(this.db, userId);
    if (user === null) return null;
    if (!this.users.has(userId)) this.users.set(userId, user);
    return this.users.get(userId) ?? user;
  }
}
