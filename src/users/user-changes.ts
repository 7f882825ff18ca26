import type { Db } from '../db/database.js';
import type { User } from './user.js';

/** An audit event a change of a user records, in its transaction (the session layer stores it). */
export interface UserChangeEvent {
  readonly type: string;
  /** Non-secret facts (roles before and after). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Who made a change of a user, and from where: recorded with its audit event. */
export interface UserChangeActor {
  readonly actorId?: string | null;
  readonly sessionId?: string | null;
  readonly meta?: { readonly clientAddress: string; readonly userAgent: string | null } | null;
}

/**
 * The port through which users/ makes a write that changes what a user's
 * existing tokens may do (their roles today). users/ knows nothing of
 * sessions: the session layer implements this port, so every such write goes
 * through its one door and is seen by every instance on the very next request.
 */
export interface UserChanges {
  /**
   * Runs `write` as a change of user `userId`, in the transaction it is
   * handed. `write` answers its result and the user as it left them, or
   * null when it changed nothing. Throws, having written nothing, when the
   * change could not be announced to other instances beforehand. `write`
   * records its audit event with the function it is handed; `by` says who
   * made the change.
   */
  changeUser<T>(
    userId: string,
    write: (db: Db, audit: (event: UserChangeEvent) => Promise<void>) => Promise<{ readonly result: T; readonly user: User | null }>,
    by?: UserChangeActor,
  ): Promise<T>;
}
