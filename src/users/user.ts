/** All roles, in display order: the one list (the GraphQL `Role` enum mirrors it; the event codec checks against it). */
export const ROLES = ['USER', 'ADMIN'] as const;

/** What a user may do beyond signing in. */
export type Role = (typeof ROLES)[number];

/** A user as the rest of the code sees it: never carries the password hash. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly createdAt: Date;
  /** The address as written (trimmed), or null. */
  readonly email: string | null;
  /** Whether the current address was proven by a link sent to it. */
  readonly emailVerified: boolean;
}

const USERNAME_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;

/**
 * Whether a username follows the contract's rules: 3–64 ASCII letters, digits,
 * `.`, `_`, `-`. ASCII only, so look-alikes such as a Cyrillic `А` can never
 * collide with or impersonate a Latin name.
 */
export function isValidUsername(username: string): boolean {
  return USERNAME_PATTERN.test(username);
}

/** The form usernames are compared and indexed in (`Alice` and `alice` are one user). */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** Sorts and de-duplicates roles, so stored and signed roles have one spelling. */
export function normalizeRoles(roles: readonly Role[]): Role[] {
  return ROLES.filter((role) => roles.includes(role));
}

/** The longest address the contract allows (RFC 5321's path limit). */
export const EMAIL_MAX_LENGTH = 254;

/*
 * One "@", a local part of at most 64 characters, a domain of dot-separated
 * labels of at most 63 characters (DNS) with a top-level one. Whitespace, control characters and the
 * characters that carry meaning in a mail header (`<>()[],;:\"`) are refused,
 * so an address can never smuggle a second recipient or a header into a mail.
 */
const EMAIL_PATTERN = /^[^\s@<>()[\],;:\\"\p{Cc}]{1,64}@(?:[^\s@<>()[\],;:\\"\p{Cc}.]{1,63}\.)+[^\s@<>()[\],;:\\"\p{Cc}.]{2,63}$/u;

/**
 * The address as stored and the key it is compared by, or null when it breaks
 * the contract's rules: trimmed, at most 254 characters, a plausible address.
 */
export function normalizeEmail(raw: string): { readonly email: string; readonly key: string } | null {
  const email = raw.trim().normalize('NFC');
  if (email.length === 0 || [...email].length > EMAIL_MAX_LENGTH || !EMAIL_PATTERN.test(email)) return null;
  return { email, key: emailKey(email) };
}

/** The form addresses are compared and indexed in (`Ann@Example.com` and `ann@example.com` are one address). */
export function emailKey(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}
