import { AUTH_FIELDS, GENEROUS_LIMITS, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';

/** Limits high enough that a file's own calls never meet them (tests of the limits set their own). */
export const EMAIL_TEST_LIMITS = GENEROUS_LIMITS;

export const PASSWORD = 'correct horse battery';
export const SIGNUP_WITH_EMAIL = `mutation ($u: String!, $p: String!, $e: String) { signup(username: $u, password: $p, email: $e) { ${AUTH_FIELDS} user { email emailVerified } } }`;
export const ME = '{ me { id username email emailVerified } }';
export const SET_EMAIL = 'mutation ($e: String!) { setEmail(email: $e) { id email emailVerified } }';
export const REQUEST_VERIFICATION = 'mutation { requestEmailVerification }';
export const VERIFY = 'mutation ($t: String!) { verifyEmail(token: $t) }';
export const REQUEST_RESET = 'mutation ($e: String!) { requestPasswordReset(email: $e) }';
export const RESET = 'mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';

/** The signup payload with the address fields. */
export type EmailAuthPayload = AuthPayload & { user: AuthPayload['user'] & { email: string | null; emailVerified: boolean } };

/** Signs up with an address, failing the test on any error. */
export async function signupWithEmail(server: TestServer, username: string, email: string | null, password = PASSWORD): Promise<EmailAuthPayload> {
  const res = await server.gql<{ signup: EmailAuthPayload }>(SIGNUP_WITH_EMAIL, { u: username, p: password, e: email });
  if (!res.body.data?.signup) throw new Error(`signup failed: ${JSON.stringify(res.body.errors)}`);
  return res.body.data.signup;
}

/** The outbox rows, oldest first. */
export function outboxRows(server: TestServer) {
  return server.app.db.selectFrom('mail_outbox').selectAll().orderBy('created_at').execute();
}

/** Runs the outbox worker's pass now and waits for it. */
export async function flushOutbox(server: TestServer): Promise<void> {
  await server.app.outbox!.runOnce();
}

/** The first error's extensions, for terse assertions. */
export function extensionsOf(res: GqlResponse): Record<string, unknown> | undefined {
  return res.body.errors?.[0]?.extensions;
}
