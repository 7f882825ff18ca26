import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { User } from '../users/user.js';
import type { UserChangeActor, UserChangeEvent, UserChanges } from '../users/user-changes.js';
import { insertAuditEvents, withContext, type AuditContext, type AuditEntry } from './audit-trail.js';
import type { AuthEventBus } from './event-bus.js';
import type { Session, SessionCheck, SessionEndReason } from './session.js';
import type { SessionGuard } from './session-guard.js';
import * as sessions from './session.repository.js';

/** Which of the door's user's open sessions a write ends: one, all, or all but one. */
export interface SessionFilter {
  readonly sessionId?: string;
  readonly except?: string;
}

/** A session a write opens, with its first refresh token (generation 0). */
export interface NewSession {
  readonly userId: string;
  readonly userAgent: string | null;
  readonly now: number;
  readonly expiresAt: number;
  readonly refreshTokenHash: string;
  /** RFC 8176 methods that opened it; its tokens carry them as `amr`. */
  readonly amr: readonly string[];
}

/** What a write that opens sessions is handed: its transaction, and the one way to open a session. */
export interface SessionOpening {
  /** The write's transaction: everything it writes commits or rolls back together. */
  readonly db: Db;
  /** Inserts a session; the door announces it (`session_started`) once the transaction committed. */
  startSession(session: NewSession): Promise<Session>;
  /** Records a security event in this transaction: it commits with the change, or not at all. */
  audit(entry: AuditEntry): Promise<void>;
}

/**
 * What a write through the door is handed: its transaction and a recorder of
 * what it changed. Whatever it records, the door reports after the commit,
 * so a write cannot end sessions and forget to tell the other instances.
 */
export interface SessionChange extends SessionOpening {
  /** Ends the matching open sessions of the door's user, in this transaction; returns their ids. */
  endSessions(filter: SessionFilter, reason: SessionEndReason): Promise<string[]>;
  /** The user as the write left them, when what their tokens may do changed (roles): cached copies are replaced, `roles_changed` is announced. */
  userChanged(user: User): void;
  /** The user as the write left them, when only what they show changed (address, verification): cached copies are replaced, nothing is announced. */
  profileChanged(user: User): void;
}

/** When Redis cannot be told before the write. */
export type UnannouncedPolicy =
  /** Refuse the write (nothing is written): a caller asked for it and may retry. The default. */
  | 'refuse'
  /** Write anyway: for revocations nobody asked for (refresh-token theft), better committed than lost. */
  | 'proceed';

/** Options of a write through the door. */
export interface DoorOptions {
  /** When Redis cannot be told before the write (change only); 'refuse' by default. */
  readonly unannounced?: UnannouncedPolicy;
  /** Who and where the write comes from: recorded with its audit events, `session.ended` included. */
  readonly by?: AuditContext;
}

/** Dependencies of SessionService. */
export interface SessionServiceDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly guard: SessionGuard;
  /** Where the door's events go: this instance hears them at once, the others through the shared channel. */
  readonly bus: AuthEventBus;
  readonly logger: Logger;
}

/**
 * The one door for every write that ends sessions, opens them, or changes
 * what a user's tokens may do. The door owns the write's transaction and the
 * order below, which is what keeps revocation instant on every instance; it
 * is written here once, and nowhere else:
 *
 * 1. `guard.beforeChange` — with Redis, replace the user's epoch, so no
 *    instance keeps trusting a check cached before the write. A failure here
 *    refuses the write (fail closed) unless the caller chose `proceed`.
 * 2. The write, in a transaction the door opens; no transaction stays open
 *    across a call to Redis. It records what it changed on the handle.
 * 3. `guard.afterChange` — after the commit, before the request answers:
 *    replace the epoch again, so a check that read the database between
 *    steps 1 and 2 (and cached the old state) is discarded; in-process guards
 *    write the new state through.
 * 4. Announce the change on the bus (every instance: sockets close,
 *    `sessionEvents` streams, metrics count).
 *
 * Opening a session (`open`) revokes nothing, so it skips steps 1 and 3.
 *
 * The write's audit events (`tx.audit`) go into the same transaction: the
 * trail has a row for a change exactly when the change committed. Ending
 * sessions records `session.ended`, with the reason, by itself.
 */
export class SessionService implements UserChanges {
  constructor(private readonly deps: SessionServiceDeps) {}

  /** The door itself: see the class comment for the order and why. */
  async change<T>(userId: string, write: (tx: SessionChange) => Promise<T>, options: DoorOptions = {}): Promise<T> {
    try {
      await this.deps.guard.beforeChange(userId);
    } catch (error) {
      if (options.unannounced !== 'proceed') throw error;
      // While Redis is unreachable every instance checks sessions in the database, so the write still takes effect.
      this.deps.logger.error({ err: error, userId }, 'could not announce an auth change before its write; writing anyway');
    }
    const { result, record } = await this.inTransaction(userId, write, options.by ?? {});
    const user = record.user ?? record.profile;
    await this.deps.guard.afterChange(userId, { endedSessionIds: record.ended.ids, ...(user ? { user } : {}) });
    this.announce(record);
    return result;
  }

  /** Runs a write that opens sessions (sign-in, signup) or only records events, in one transaction; sessions it opened are announced once it committed. */
  async open<T>(write: (tx: SessionOpening) => Promise<T>, options: Pick<DoorOptions, 'by'> = {}): Promise<T> {
    const { result, record } = await this.inTransaction(null, write, options.by ?? {});
    this.announce(record);
    return result;
  }

  /** Ends the matching open sessions of a user (one, all, or all but one) through the door, and returns their ids. */
  endSessions(userId: string, filter: SessionFilter, reason: SessionEndReason, by?: AuditContext): Promise<string[]> {
    return this.change(userId, (tx) => tx.endSessions(filter, reason), by ? { by } : {});
  }

  /**
   * Records security events that come with no other write (a failed login,
   * a refused ceremony): they commit on their own, even though the request
   * that caused them fails.
   */
  async record(...entries: AuditEntry[]): Promise<void> {
    await insertAuditEvents(this.deps.db, entries, this.deps.clock.now());
  }

  /** Implements the users/ port: a change of what a user's tokens may do, written in the door's transaction. */
  changeUser<T>(
    userId: string,
    write: (db: Db, audit: (entry: UserChangeEvent) => Promise<void>) => Promise<{ readonly result: T; readonly user: User | null }>,
    by?: UserChangeActor,
  ): Promise<T> {
    return this.change(
      userId,
      async (tx) => {
        const { result, user } = await write(tx.db, (entry) => tx.audit(entry));
        if (user) tx.userChanged(user);
        return result;
      },
      by ? { by } : {},
    );
  }

  /** Checks that session `sessionId` of user `userId` is open, and returns the user as they are now. */
  checkSession(sessionId: string, userId: string): Promise<SessionCheck> {
    return this.deps.guard.checkSession(sessionId, userId);
  }

  private async inTransaction<T>(userId: string | null, write: (tx: SessionChange) => Promise<T>, by: AuditContext): Promise<{ result: T; record: ChangeRecord }> {
    const record: ChangeRecord = { userId, ended: { ids: [], reason: null }, started: [], user: null, profile: null };
    const result = await this.deps.db.transaction().execute((trx) => write(this.recorder(trx, record, by)));
    return { result, record };
  }

  private recorder(trx: Db, record: ChangeRecord, by: AuditContext): SessionChange {
    const now = () => this.deps.clock.now();
    const audit = (entry: AuditEntry) => insertAuditEvents(trx, [withContext(entry, record.userId, by)], now());
    return {
      db: trx,
      async startSession(input) {
        const session = await sessions.insertSession(trx, { id: randomUUID(), ...input });
        record.started.push(session);
        return session;
      },
      async endSessions(filter, reason) {
        if (record.userId === null) throw new Error('endSessions needs a door opened for a user (sessions.change)');
        if (record.ended.reason !== null && record.ended.reason !== reason) throw new Error('one write through the door ends sessions for one reason');
        const ids = await sessions.endSessions(trx, { userId: record.userId, ...filter }, reason, now());
        record.ended = { ids: [...record.ended.ids, ...ids], reason };
        if (ids.length > 0) await audit({ type: 'session.ended', details: { reason, sessionIds: ids } });
        return ids;
      },
      audit,
      userChanged(user) {
        record.user = user;
      },
      profileChanged(user) {
        record.profile = user;
      },
    };
  }

  private announce(record: ChangeRecord): void {
    const { bus } = this.deps;
    for (const session of record.started) bus.publish({ type: 'session_started', userId: session.userId, session });
    if (record.userId === null) return;
    if (record.ended.reason !== null && record.ended.ids.length > 0) {
      bus.publish({ type: 'sessions_ended', userId: record.userId, sessionIds: record.ended.ids, reason: record.ended.reason });
    }
    if (record.user) bus.publish({ type: 'roles_changed', userId: record.userId, user: record.user });
  }
}

/** What one write through the door recorded. */
interface ChangeRecord {
  readonly userId: string | null;
  ended: { ids: readonly string[]; reason: SessionEndReason | null };
  readonly started: Session[];
  user: User | null;
  profile: User | null;
}

