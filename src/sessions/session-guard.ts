import type { AuthChange } from './auth-events.js';
import type { SessionCheck } from './session.js';

export type { AuthChange, SessionCheck };

/**
 * The per-request session check, and how writes that end sessions or change
 * roles reach it. A valid JWT still needs two live facts: is its session
 * open (logout works on the very next request) and what are the user's roles
 * now (setUserRoles does too). Implementations differ in where those facts
 * come from; see guards/. Only the door in session.service.ts calls
 * beforeChange and afterChange.
 */
export interface SessionGuard {
  /** Checks that session `sessionId` of user `userId` is open, and returns the user as they are now. */
  checkSession(sessionId: string, userId: string): Promise<SessionCheck>;
  /**
   * Checks state of user `userId` other than a session (an API key, under its
   * own cache `key`), with the same invalidation as session checks: cached
   * until a write through the door for that user, on whichever instance.
   * `load` reads it from the database (it must read the user's current state,
   * roles included, since the answer is cached as a whole).
   */
  checkUserState<T>(key: string, userId: string, load: () => Promise<T>): Promise<T>;
  /** Runs before a write that ends sessions or changes a user; throws to refuse the write (nothing is written). */
  beforeChange(userId: string): Promise<void>;
  /** Runs after that write committed, before the request answers. */
  afterChange(userId: string, change: AuthChange): Promise<void>;
  /** Whether the shared store answers (true when there is none). */
  ping(): Promise<boolean>;
  /** Releases connections. */
  close(): Promise<void>;
}
