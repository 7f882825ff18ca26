import type { User } from '../users/user.js';

/** What an API key may reach (docs/api.md, "API keys"): each scope is declared in the SDL with `@apiKey(scope: …)`. */
export const API_SCOPES = ['PROFILE', 'SESSIONS', 'ADMIN_READ', 'ADMIN_WRITE'] as const;

/** One API key scope. */
export type ApiScope = (typeof API_SCOPES)[number];

/** What the key a request came with grants: set only on a viewer signed in with an API key. */
export interface ApiKeyGrant {
  /** The key's id (its credentials row). */
  readonly id: string;
  readonly scopes: readonly ApiScope[];
  /** Seconds until the key's rate limit lets it through again; null while within it (then RATE_LIMITED on every scoped field). */
  readonly retryAfter: number | null;
}

/**
 * The `sessionId` a viewer signed in with an API key carries: a key opens no
 * session, and this value matches none (`mySessions` marks no session
 * current), while the socket watcher can still find the key's sockets by it.
 */
export function apiKeySessionId(keyId: string): string {
  return `apikey:${keyId}`;
}

/** The signed-in caller, as established by the context builder for this request. */
export interface Viewer {
  readonly user: User;
  /** The access token's session; for an API key, `apiKeySessionId(key id)`. */
  readonly sessionId: string;
  /** True when the token came straight from a password login, signup or password change (never for an API key). */
  readonly fresh: boolean;
  /** When the access token expires (its `exp`), in ms since the epoch: a WebSocket is closed then. For an API key, its expiry. */
  readonly tokenExpiresAt: number;
  /** Present when the caller came with an API key instead of an access token: the permission layer holds it to its scopes. */
  readonly apiKey?: ApiKeyGrant;
}
