import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import type { Instance } from './instances.js';
import type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.js';
import { AUTH_FIELDS, type AuthPayload } from './server.js';

/*
 * One real session against a traced server (dist/main.js with an OTLP
 * endpoint): signup, login, me, refresh, TOTP enrollment, a two-step login, a
 * wrong password, a literal password in a document, variables in a GET query
 * string and an email-link page with a token. Answers every secret the run
 * used, so the caller can prove none of them left in a span.
 */

const SIGNUP = `mutation SignUp($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation LogIn($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const ME = 'query Me { me { id username } }';
const REFRESH = `mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const ENROLL = 'mutation Enroll { enrollTotp { secret otpauthUrl } }';
const CONFIRM = 'mutation Confirm($c: String!) { confirmTotp(code: $c) }';
const VERIFY = `mutation Verify($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;

function data<T>(res: { body: { data?: unknown; errors?: unknown } }, field: string): T {
  const value = (res.body.data as Record<string, unknown> | null | undefined)?.[field];
  if (value === undefined || value === null) throw new Error(`${field} failed: ${JSON.stringify(res.body)}`);
  return value as T;
}

/** Runs the session; answers the secrets it used (passwords, tokens, codes, the TOTP secret, recovery codes). */
export async function runTracedSession(server: Instance): Promise<string[]> {
  const secrets: string[] = [];
  const keep = (...values: string[]) => {
    for (const value of values) {
      secrets.push(value);
      // A JWT's signature alone would be as bad as the token.
      const signature = value.split('.')[2];
      if (signature !== undefined && signature.length >= 16) secrets.push(signature);
    }
  };
  const username = `traced_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  keep(password);
  const pair = (p: AuthPayload) => keep(p.accessToken, p.refreshToken);

  const signedUp = data<AuthPayload>(await server.gql(SIGNUP, { u: username, p: password }), 'signup');
  pair(signedUp);
  const loggedIn = data<AuthPayload>(await server.gql(LOGIN, { u: username, p: password }), 'login');
  pair(loggedIn);
  expect(data<{ username: string }>(await server.gql(ME, {}, loggedIn.accessToken), 'me').username).toBe(username);
  const refreshed = data<AuthPayload>(await server.gql(REFRESH, { t: loggedIn.refreshToken }), 'refreshToken');
  pair(refreshed);

  const enrolled = data<{ secret: string; otpauthUrl: string }>(await server.gql(ENROLL, {}, loggedIn.accessToken), 'enrollTotp');
  keep(enrolled.secret, enrolled.otpauthUrl);
  const confirmCode = generateTotpCode(enrolled.secret, Date.now());
  keep(confirmCode);
  const recoveryCodes = data<string[]>(await server.gql(CONFIRM, { c: confirmCode }, loggedIn.accessToken), 'confirmTotp');
  keep(...recoveryCodes);

  const firstStep = await server.gql(LOGIN, { u: username, p: password });
  const mfaToken = firstStep.body.errors?.[0]?.extensions?.mfaToken;
  if (typeof mfaToken !== 'string') throw new Error(`expected MFA_REQUIRED: ${JSON.stringify(firstStep.body)}`);
  keep(mfaToken);
  // The next step's code (one step of skew is accepted): the confirming code is spent.
  const verifyCode = generateTotpCode(enrolled.secret, Date.now() + 30_000);
  keep(verifyCode);
  pair(data<AuthPayload>(await server.gql(VERIFY, { t: mfaToken, c: verifyCode }), 'verifyMfa'));

  // A refused login: error paths record exceptions.
  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  keep(wrong);
  expect((await server.gql(LOGIN, { u: username, p: wrong })).body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
  // A password written into the document itself, not in a variable.
  const literal = `lit-${randomBytes(12).toString('hex')}`;
  keep(literal);
  await server.gql(`mutation Literal { login(username: "${username}", password: "${literal}") { accessToken } }`);
  // Variables in a GET query string (the URL is a span attribute).
  const inQuery = `q-${randomBytes(12).toString('hex')}`;
  keep(inQuery);
  const get = new URL(`${server.url}/graphql`);
  get.searchParams.set('query', 'query Q($x: String) { me { id } }');
  get.searchParams.set('variables', JSON.stringify({ x: inQuery }));
  await fetch(get, { headers: { authorization: `Bearer ${refreshed.accessToken}`, 'apollo-require-preflight': 'true' } });
  // An email link carries its token in the query string.
  const linkToken = `link-${randomBytes(16).toString('hex')}`;
  keep(linkToken);
  await fetch(`${server.url}/verify-email?token=${linkToken}`);
  return secrets;
}

/** The chain of parents of a span, nearest first (within what was received). */
export function ancestors(span: ReceivedSpan, all: readonly ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(all.map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.push(parent);
  return chain;
}

/** Whether a span is an HTTP server span of a request (SpanKind.SERVER is 2 in OTLP). */
export const isHttpServerSpan = (span: ReceivedSpan): boolean => span.kind === 2 && span.scope === '@opentelemetry/instrumentation-http';

/** Proves that no secret appears anywhere in what the receiver got: attributes, events, resources, names. */
export function expectNoSecret(receiver: OtlpReceiver, secrets: readonly string[]): void {
  expect(receiver.bodies.length).toBeGreaterThan(0);
  const everything = receiver.bodies.join('\n');
  for (const secret of secrets) {
    expect(everything.includes(secret), `a secret of the run (${secret.slice(0, 6)}…) is in an exported span`).toBe(false);
    // The URL-encoded form (a query string) too.
    expect(everything.includes(encodeURIComponent(secret))).toBe(false);
  }
  expect(everything).not.toMatch(/Bearer /i);
  for (const span of receiver.spans()) {
    for (const key of Object.keys(span.attributes)) expect(key).not.toMatch(/header|variables|password|token|cookie|db\.query\.parameter|postgresql\.values/i);
  }
}
