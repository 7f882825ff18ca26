import type { Db } from '../db/database.js';
import type { AppError } from '../errors.js';
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

/** What a first factor brought by another feature found: a proof, or why not (for the audit trail; never shown to the caller). */
export type FirstFactorCheck =
  | { readonly proof: FirstFactorProof }
  | {
      readonly proof: null;
      /** Whose credential the attempt named, if anyone's. */
      readonly user: User | null;
      /** The one error the caller gets, whatever failed (e.g. INVALID_PASSKEY). */
      readonly error: AppError;
      /** A short, non-secret reason for the audit trail (`challenge`, `signature`, `counter` …). */
      readonly reason: string;
    };

/**
 * A first factor another feature checks (a passkey ceremony): the sign-in
 * pipeline charges the login budgets under `budgetKey`, runs `check` inside
 * them, and then opens the session or asks for the second factor exactly as
 * after a password.
 */
export interface FirstFactorAttempt {
  /** The name the login budgets are charged under: the username of the credential's owner, or a stand-in when none is known. */
  readonly budgetKey: string;
  /** The method, as the audit trail names it (`passkey`). */
  readonly method: string;
  /** The check; throws only when it could not be made (the database is away), which gives the charge back. */
  check(): Promise<FirstFactorCheck>;
}
