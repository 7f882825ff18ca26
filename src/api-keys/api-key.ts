import type { AuthFailureReason } from '../errors.js';
import type { ApiScope, Viewer } from '../sessions/ports.js';
import type { User } from '../users/user.js';

/** An API key as the rest of the code sees it (never the key itself: only its hash is stored). */
export interface ApiKey {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  /** `tg_pat_` and the first 4 random characters. */
  readonly prefix: string;
  readonly scopes: readonly ApiScope[];
  readonly createdAt: Date;
  /** To the minute; written in batches. */
  readonly lastUsedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

/** What a request made with a key needs to know, read in one query and cached until the owner changes. */
export interface ApiKeyState {
  readonly id: string;
  readonly scopes: readonly ApiScope[];
  /** In ms; null for never. */
  readonly expiresAt: number | null;
  readonly revoked: boolean;
  /** The owner as they are now (roles included: the ADMIN scopes follow them). */
  readonly user: User;
}

/** A key just created: the key, shown this once, and its record. */
export interface NewApiKey {
  readonly key: string;
  readonly apiKey: ApiKey;
}

/** The shortest and longest `expiresIn`, in seconds: 1 hour and 1 year (365 days). */
export const EXPIRES_IN_MIN = 3_600;
export const EXPIRES_IN_MAX = 365 * 86_400;
/** The longest name, in characters. */
export const NAME_MAX = 100;

/** How a key became a viewer, or why it did not (the shape graphql/context.ts's ApiKeyVerifier port expects). */
export type ApiKeyVerdict = { readonly ok: true; readonly viewer: Viewer } | { readonly ok: false; readonly reason: AuthFailureReason };
