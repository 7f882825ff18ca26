import type { Db } from '../db/database.js';
import type { SessionOpening } from '../sessions/index.js';
import type { User } from '../users/user.js';

/**
 * The ways of proving who you are, as the sign-in pipeline sees them. Every
 * factor names what it proved with RFC 8176 `amr` values; the session keeps
 * them and every token of the session carries them (docs/api.md, "Tokens").
 */

/** What a first factor proved: whose account, how, and whether that alone is multi-factor. */
export interface FirstFactorProof {
  readonly user: User;
  /** The `amr` values it proved: `["pwd"]` for a password (`["pop"]`, `["pop","mfa"]` for a passkey, `["fed"]` for social sign-in). */
  readonly amr: readonly string[];
  /**
   * True when the proof is already multi-factor (a passkey with user
   * verification): the second step is skipped even for a user with TOTP on.
   */
  readonly multiFactor: boolean;
}

/**
 * A second factor a user may have enrolled (TOTP and its recovery codes
 * today). The sign-in pipeline asks it whether the user has one, and to
 * check and spend a code inside the transaction that opens the session.
 */
export interface SecondFactor {
  /** Whether the user must pass this factor after a first factor that is not multi-factor. */
  isEnrolled(db: Db, userId: string): Promise<boolean>;
  /**
   * Checks a code and spends it (a code works once, on any instance),
   * inside the caller's transaction; the `amr` value it proves, or null
   * when the code is not valid.
   */
  verify(db: Db, userId: string, code: string, now: number): Promise<string | null>;
}

/**
 * A first factor proven elsewhere (social sign-in: the provider's ID token)
 * whose proof needs writes of its own (a new user, a linked identity): they
 * run in the transaction that opens the session, so a sign-in and what it
 * created commit together. `details` are non-secret facts for the
 * `login.success` audit event (e.g. `{ method: 'oidc', provider }`).
 */
export interface FederatedFirstFactor {
  prove(tx: SessionOpening): Promise<FirstFactorProof>;
  readonly details: Readonly<Record<string, unknown>>;
}
