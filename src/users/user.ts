/** What a user may do beyond signing in; mirrors the GraphQL `Role` enum. */
export type Role = 'USER' | 'ADMIN';

/** All roles, in display order. */
export const ROLES: readonly Role[] = ['USER', 'ADMIN'];

/** A user as the rest of the code sees it: never carries the password hash. */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly Role[];
  readonly createdAt: Date;
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
