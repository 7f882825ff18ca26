import type { Db } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { User } from '../users/user.js';
import type { UserChanges } from '../users/user-changes.js';
import type { Session, SessionCheck, SessionEndReason } from './session.js';
import type { SessionGuard } from './session-guard.js';
import * as sessions from './session.repository.js';

/** What a write through the door changed, as it committed it. */
export interface AuthStateChange {
  /** Sessions the write ended, and why. */
  readonly ended?: { readonly sessionIds: readonly string[]; readonly reason: SessionEndReason };
  /** The user as the write left them, when what their tokens may do changed (roles). */
  readonly user?: User;
  /**
   * The user as the write left them, when only what they show changed (their
   * address, its verification): cached copies are replaced on every instance,
   * and no roles_changed event is sent.
   */
  readonly profile?: User;
}

/** What the door announces after a change committed; subscriptions and metrics listen. */
export type AuthEvent =
  | { readonly type: 'session_started'; readonly userId: string; readonly session: Session }
  | { readonly type: 'sessions_ended'; readonly userId: string; readonly sessionIds: readonly string[]; readonly reason: SessionEndReason }
  | { readonly type: 'roles_changed'; readonly userId: string; readonly user: User };

/** A listener of the door's events; it must not throw (a throw is logged and ignored). */
export type AuthEventListener = (event: AuthEvent) => void;

/** When Redis cannot be told before the write. */
export type UnannouncedPolicy =
  /** Refuse the write (nothing is written): a caller asked for it and may retry. The default. */
  | 'refuse'
  /** Write anyway: for revocations nobody asked for (refresh-token theft), better committed than lost. */
  | 'proceed';

/** Dependencies of SessionService. */
export interface SessionServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly guard: SessionGuard;
  readonly logger: Logger;
}

/**
 * The one door for every write that ends sessions or changes what a user's
 * tokens may do. The order below is what keeps revocation instant on every
 * instance; it is written here once, and nowhere else:
 *
 * 1. `guard.beforeChange` — with Redis, replace the user's epoch, so no
 *    instance keeps trusting a check cached before the write. A failure here
 *    refuses the write (fail closed) unless the caller chose `proceed`.
 * 2. `write` — owns its own transaction; no transaction stays open across a
 *    call to Redis.
 * 3. `guard.afterChange` — after the commit, before the request answers:
 *    replace the epoch again, so a check that read the database between
 *    steps 1 and 2 (and cached the old state) is discarded; in-process guards
 *    write the new state through.
 * 4. Announce the change to listeners (subscriptions close sockets, metrics count).
 */
export class SessionService implements UserChanges {
  private readonly listeners = new Set<AuthEventListener>();

  constructor(private readonly deps: SessionServiceDeps) {}

  /** The door itself: see the class comment for the order and why. */
  async change<T>(
    userId: string,
    write: () => Promise<{ readonly result: T; readonly change: AuthStateChange }>,
    options: { readonly unannounced?: UnannouncedPolicy } = {},
  ): Promise<T> {
    try {
      await this.deps.guard.beforeChange(userId);
    } catch (error) {
      if (options.unannounced !== 'proceed') throw error;
      // While Redis is unreachable every instance checks sessions in the database, so the write still takes effect.
      this.deps.logger.error({ err: error, userId }, 'could not announce an auth change before its write; writing anyway');
    }
    const { result, change } = await write();
    const endedSessionIds = change.ended?.sessionIds ?? [];
    const user = change.user ?? change.profile;
    await this.deps.guard.afterChange(userId, { endedSessionIds, ...(user ? { user } : {}) });
    if (change.ended && endedSessionIds.length > 0) {
      this.emit({ type: 'sessions_ended', userId, sessionIds: endedSessionIds, reason: change.ended.reason });
    }
    if (change.user) this.emit({ type: 'roles_changed', userId, user: change.user });
    return result;
  }

  /**
   * Ends the matching open sessions of a user (one, all, or all but one) and
   * returns their ids.
   */
  endSessions(userId: string, filter: { readonly sessionId?: string; readonly except?: string }, reason: SessionEndReason): Promise<string[]> {
    return this.change(userId, async () => {
      const ended = await sessions.endSessions(this.deps.db, { userId, ...filter }, reason, this.deps.clock.now());
      return { result: ended, change: { ended: { sessionIds: ended, reason } } };
    });
  }

  /** Implements the users/ port: a change of what a user's tokens may do. */
  changeUser<T>(userId: string, write: () => Promise<{ readonly result: T; readonly user: User | null }>): Promise<T> {
    return this.change(userId, async () => {
      const { result, user } = await write();
      return { result, change: user ? { user } : {} };
    });
  }

  /** Checks that session `sessionId` of user `userId` is open, and returns the user as they are now. */
  checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    return this.deps.guard.checkSession(sessionId, userId);
  }

  /** Announces a session that was just committed (it revokes nothing, so it needs no epoch). */
  sessionStarted(session: Session): void {
    this.emit({ type: 'session_started', userId: session.userId, session });
  }

  /** Subscribes to the door's events; returns the unsubscribe function. */
  onEvent(listener: AuthEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: AuthEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.deps.logger.error({ err: error, event: event.type }, 'an auth event listener failed');
      }
    }
  }
}
