import { expect } from 'vitest';
import { TEST_SECRET, type GqlResponse, type TestServer } from '../helpers/server.js';

/**
 * Brute-force limits high enough that a file making hundreds of auth calls
 * from 127.0.0.1 never meets them. (Config names from docs/api.md,
 * "Brute-force limits"; loadConfig ignores variables it does not know.)
 */
export const GENEROUS_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_LOGIN_PAIR: '100000',
  RATE_LIMIT_LOGIN_USERNAME: '100000/1h',
  RATE_LIMIT_LOGIN_ADDRESS: '100000/1h',
  RATE_LIMIT_SIGNUP_ADDRESS: '100000/1h',
  RATE_LIMIT_REFRESH_ADDRESS: '100000/1h',
};

/** Every `extensions.code` the contract lets a client see for an expected failure (INTERNAL_SERVER_ERROR left out on purpose). */
export const CONTRACT_CODES: readonly string[] = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'FRESH_TOKEN_REQUIRED',
  'INVALID_CREDENTIALS',
  'INVALID_REFRESH_TOKEN',
  'USERNAME_TAKEN',
  'EMAIL_TAKEN',
  'INVALID_EMAIL_TOKEN',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
];

/** The `reason`s of UNAUTHENTICATED in the contract. */
export const AUTH_REASONS: readonly string[] = ['MISSING_TOKEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'];

export const SIGNUP = 'mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { accessToken user { id username } } }';
export const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken user { id username } } }';
export const REFRESH = 'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }';

export { b64, decodeClaims } from '../helpers/jwt.js';

/** The first error's extensions, for terse assertions. */
export function firstExtensions(res: GqlResponse): Record<string, unknown> | undefined {
  return res.body.errors?.[0]?.extensions;
}

/**
 * Asks `{ me { id } }` with a raw Authorization header value and asserts the
 * contract's refusal: HTTP 200, `data: null`, one UNAUTHENTICATED error.
 * Returns its `reason`.
 */
export async function meRefusal(server: TestServer, authorization: string): Promise<unknown> {
  const res = await server.gql('{ me { id } }', {}, { headers: { authorization } });
  expect(res.status).toBe(200);
  expect(res.body.data).toBeNull();
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  return res.body.errors?.[0]?.extensions?.reason;
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What must never reach a client, with a name for the failure message. */
const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  // "    at fn (/work/main/src/x.ts:1:2)", "at node:internal/…", "at file:///…"
  ['a stack frame', /\bat (?:\S+ \()?(?:\/|node:|file:|[A-Za-z]:\\)/],
  // Our SQL and the drivers' error texts.
  ['SQL or a driver error', /select |insert into|sqlite|syntax error at or near|duplicate key|violates .{0,40}constraint|username_key|password_hash/i],
  ['a file path', /\/src\/|\/dist\/|\/node_modules\/|\.ts:/],
  ['a password hash', /\$argon2/],
];

/**
 * The leaks found in a response text: stack frames, SQL, file paths, password
 * hashes, the JWT secret. Empty when the text is clean.
 */
export function findLeaks(text: string): string[] {
  const found = LEAKS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
  if (text.includes(TEST_SECRET)) found.push('the JWT secret');
  return found;
}
