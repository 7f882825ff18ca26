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
 *
 * Another process may write too (the admin CLI revoking sessions or changing
 * roles): `externalChanges` (SQLite's data_version) tells, and the whole
 * cache is dropped before the check. A read begun before the drop is not
 * stored after it.
 */
export class LocalSessionGuard implements SessionGuard {
  private readonly sessions: LRUCache<string, SessionState>;
  private readonly users: LRUCache<string, User>;
  /** Other user state (API keys) by cache key, and the keys of each user, dropped at each change of that user. */
  private readonly states: LRUCache<string, { readonly userId: string; readonly value: unknown }>;
  private readonly stateKeys = new Map<string, Set<string>>();
  private readonly readState: typeof findSessionState;
  private readonly externalChanges: (() => number) | null;
  private seenVersion: number | null = null;
  /** Bumped at each drop of the cache: a read begun under an older generation is not stored. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    options: {
      readonly maxEntries?: number;
      /** How state is read from the database (service tests slow it down to drive the read/write race). */
      readonly readState?: typeof findSessionState;
      /** SQLite's data_version: changes when another process committed to the file. */
      readonly externalChanges?: () => number;
    } = {},
  ) {
    this.readState = options.readState ?? findSessionState;
    const max = options.maxEntries ?? 50_000;
    this.sessions = new LRUCache({ max });
    this.users = new LRUCache({ max });
    this.states = new LRUCache({
      max,
      dispose: (entry, key) => {
        const keys = this.stateKeys.get(entry.userId);
        keys?.delete(key);
        if (keys?.size === 0) this.stateKeys.delete(entry.userId);
      },
    });
    this.externalChanges = options.externalChanges ?? null;
    this.seenVersion = this.externalChanges?.() ?? null;
  }

  async checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    this.dropOnExternalChange();
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

  /** Cached until any change of the user through this process (or any external commit); a read begun before one is not stored. */
  async checkUserState<T>(key: string, userId: string, load: () => Promise<T>): Promise<T> {
    this.dropOnExternalChange();
    const hit = this.states.get(key);
    if (hit !== undefined && hit.userId === userId) return hit.value as T;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation) {
      this.states.set(key, { userId, value });
      let keys = this.stateKeys.get(userId);
      if (keys === undefined) this.stateKeys.set(userId, (keys = new Set()));
      keys.add(key);
    }
    return value;
  }

  async beforeChange(): Promise<void> {}

  async afterChange(userId: string, change: AuthChange): Promise<void> {
    for (const id of change.endedSessionIds ?? []) this.sessions.set(id, { userId, ended: true });
    if (change.user) this.users.set(change.user.id, change.user);
    // Whatever else was cached of this user may be what the write changed (a key revoked, roles replaced).
    this.generation++;
    for (const key of [...(this.stateKeys.get(userId) ?? [])]) this.states.delete(key);
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}

  private dropOnExternalChange(): void {
    if (this.externalChanges === null) return;
    const version = this.externalChanges();
    if (version === this.seenVersion) return;
    this.seenVersion = version;
    this.generation++;
    this.sessions.clear();
    this.users.clear();
    this.states.clear();
  }

  private async load(sessionId: string): Promise<{ session: SessionState; user: User } | null> {
    const generation = this.generation;
    const row = await this.readState(this.db, sessionId);
    if (row === null) return null;
    if (generation !== this.generation) return { session: { userId: row.userId, ended: row.ended }, user: row.user };
    if (!this.sessions.has(sessionId)) this.sessions.set(sessionId, { userId: row.userId, ended: row.ended });
    if (!this.users.has(row.userId)) this.users.set(row.userId, row.user);
    return { session: this.sessions.get(sessionId)!, user: this.users.get(row.userId)! };
  }
}
