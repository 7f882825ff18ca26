import type { User } from '../users/user.js';

/** The signed-in caller, as established by the context builder for this request. */
export interface Viewer {
  readonly user: User;
  readonly sessionId: string;
  /** True when the token came straight from a password login, signup or password change. */
  readonly fresh: boolean;
  /** When the access token expires (its `exp`), in ms since the epoch: a WebSocket is closed then. */
  readonly tokenExpiresAt: number;
}
