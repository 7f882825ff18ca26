/** The one JWT decoder of the test tree: reads a token's parts without verifying anything. */

/** The access-token claims tests look at; every other claim is still there, untyped. */
export interface TestClaims extends Record<string, unknown> {
  readonly sub: string;
  readonly sid: string;
  readonly fresh: boolean;
  readonly roles: readonly string[];
  readonly exp: number;
  readonly iat: number;
}

/** The decoded payload of a JWT (no verification). */
export function decodeClaims(token: string): TestClaims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as TestClaims;
}

/** The decoded header of a JWT (no verification). */
export function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** base64url of a JSON value (or of a string as is): for forging token parts. */
export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
}
