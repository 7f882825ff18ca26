import type { Db } from '../db/database.js';
import type { User } from './user.js';

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
   * change could not be announced to other instances beforehand.
   */
  changeUser<T>(userId: string, write: (db: Db) => Promise<{ readonly result: T; readonly user: User | null }>): Promise<T>;
}
