/**
 * The contract's error codes (docs/api.md, "Errors") and the one error
 * class services throw. No graphql import: services stay transport-agnostic,
 * and the GraphQL layer turns an AppError into a GraphQLError in formatError.
 */

/** Every code a client may see in `extensions.code` that tokengate raises itself. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  FRESH_TOKEN_REQUIRED: 'FRESH_TOKEN_REQUIRED',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_REFRESH_TOKEN: 'INVALID_REFRESH_TOKEN',
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  INVALID_EMAIL_TOKEN: 'INVALID_EMAIL_TOKEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  RATE_LIMITED: 'RATE_LIMITED',
  MFA_REQUIRED: 'MFA_REQUIRED',
  INVALID_MFA_CODE: 'INVALID_MFA_CODE',
  INVALID_PASSKEY: 'INVALID_PASSKEY',
  OAUTH_FAILED: 'OAUTH_FAILED',
  IDENTITY_TAKEN: 'IDENTITY_TAKEN',
  LAST_CREDENTIAL: 'LAST_CREDENTIAL',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Why a protected field refused the caller (`extensions.reason` of UNAUTHENTICATED). */
export type AuthFailureReason = 'MISSING_TOKEN' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED';

/** Extra, public fields that travel in `extensions` next to the code. */
export type ErrorExtras = Readonly<Record<string, string | number | boolean>>;

/**
 * An expected failure with a public message and a contract code. The message
 * is shown to clients as is, so it never names a secret, a query or a file.
 */
export class AppError extends Error {
  override readonly name = 'AppError';

  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL_SERVER_ERROR'>,
    message: string,
    readonly extras: ErrorExtras = {},
  ) {
    // An expected outcome, not a bug: capturing a stack trace would be pure
    // cost on paths an attacker can drive (every refused token makes one).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The one message for a failed login, whatever failed: no username oracle. */
export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password.';

/** Builds the contract's UNAUTHENTICATED error for a token failure reason. */
export function unauthenticated(reason: AuthFailureReason): AppError {
  const messages: Record<AuthFailureReason, string> = {
    MISSING_TOKEN: 'You must be signed in: send "Authorization: Bearer <access token>".',
    INVALID_TOKEN: 'The access token is not valid.',
    TOKEN_EXPIRED: 'The access token has expired; refresh it.',
    TOKEN_REVOKED: 'The session of this access token has ended; sign in again.',
  };
  return new AppError(ErrorCode.UNAUTHENTICATED, messages[reason], { reason });
}

/** Builds the contract's LAST_CREDENTIAL error: removing it would leave the user no way to sign in. */
export function lastCredential(): AppError {
  return new AppError(ErrorCode.LAST_CREDENTIAL, 'This is your last way to sign in; add another before removing it.');
}

/** Builds the FORBIDDEN error an API key meets outside its scopes or on a fresh-token mutation. */
export function forbiddenForApiKey(): AppError {
  return new AppError(ErrorCode.FORBIDDEN, 'An API key cannot do this; sign in, or use a key with the scope this field declares.', { reason: 'API_KEY' });
}

/** Builds a BAD_USER_INPUT error naming the offending argument. */
export function badInput(field: string, message: string): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, message, { field });
}
