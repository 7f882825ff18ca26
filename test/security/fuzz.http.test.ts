import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBearer } from '../../src/http/credentials.js';
import { AccessTokens } from '../../src/tokens/access-token.js';
import { TEST_SECRET, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { CONTRACT_CODES, GENEROUS_LIMITS, LOGIN, REFRESH, SIGNUP, b64, decodeClaims, findLeaks } from './security-helpers.js';
import { postGraphQL } from '../helpers/gql-client.js';

/*
 * Property-based tests: whatever a client sends as a token, a username, a
 * password or a refresh token, the answer is one of the contract's codes,
 * never a crash, a 5xx, an INTERNAL_SERVER_ERROR, or a leak of a stack frame,
 * SQL, a file path, a password hash or the JWT secret. On failure fast-check
 * prints the seed and the shrunk counterexample.
 */

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Strings of any UTF-16 code unit, lone surrogates included (JSON carries them as \\uD800). */
const utf16String = (maxLength = 40) => fc.string({ maxLength, unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });

/** Strings that break things: injection, encodings, control characters, length. */
const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  "' OR '1'='1",
  "admin'--",
  '"; DROP TABLE users; --',
  'SELECT * FROM users',
  '%',
  '_',
  '\\',
  '\\"',
  '${jndi:ldap://127.0.0.1:1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'ａｄｍｉｎ',
  '\u0410dmin',
  '\u202enimda',
  'admin\u200b',
  'x'.repeat(300),
  '😀'.repeat(256),
  '😀'.repeat(257),
  // Each of these grows to 18 characters under NFKC.
  '\ufdfa'.repeat(256),
  'e\u0301'.repeat(150),
];

/** Any string a client might send, from printable ASCII to unpaired surrogates, short and long. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary-ascii' }),
  utf16String(),
  fc.string({ minLength: 240, maxLength: 300 }),
  fc.string({ minLength: 240, maxLength: 300, unit: 'binary' }),
  fc.constantFrom(...NASTY),
);

/** Three base64url segments: the shape parseBearer accepts. */
const segment = (minLength: number) => fc.string({ minLength, maxLength: 60, unit: fc.constantFrom(...BASE64URL) });
const jwtShaped = fc.tuple(segment(1), segment(1), segment(0)).map((parts) => parts.join('.'));

/** A token changed in one place: a character replaced, a range deleted, text inserted, segments reordered. */
function mutationOf(token: string, alphabet = `${BASE64URL}.=+/`): fc.Arbitrary<string> {
  const at = fc.nat({ max: token.length - 1 });
  const parts = token.split('.');
  return fc
    .oneof(
      fc.tuple(at, fc.constantFrom(...alphabet)).map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
      fc.tuple(at, fc.integer({ min: 1, max: 20 })).map(([i, n]) => token.slice(0, i) + token.slice(i + n)),
      fc.tuple(fc.nat({ max: token.length }), fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom(...alphabet) })).map(
        ([i, s]) => token.slice(0, i) + s + token.slice(i),
      ),
      fc.constantFrom(
        [parts[1], parts[0], parts[2]].join('.'),
        [parts[0], parts[1]].join('.'),
        [parts[0], parts[1], parts[2], parts[2]].join('.'),
        token.toUpperCase(),
        token.toLowerCase(),
      ),
    )
    .filter((mutated) => mutated !== token);
}

describe('parseBearer and AccessTokens.verify, for any input', () => {
  const accessTokens = new AccessTokens({ secret: TEST_SECRET, issuer: 'tokengate', audience: 'tokengate', ttl: 900, clockTolerance: 0 });
  const now = Date.now();
  const real = accessTokens.sign({ userId: 'user-1', username: 'fuzz', roles: ['USER'], sessionId: 'session-1', fresh: true }, now);
  const claims = decodeClaims(real);

  it('control: the real token parses and verifies', () => {
    expect(parseBearer(`Bearer ${real}`)).toEqual({ kind: 'bearer', token: real });
    expect(accessTokens.verify(real, now)).toMatchObject({ ok: true, claims: { sub: 'user-1' } });
  });

  it('parseBearer never throws, and answers "malformed" or a JWT-shaped part of the header', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, jwtShaped.map((t) => `Bearer ${t}`)), (header) => {
        const result = parseBearer(header);
        expect(['malformed', 'bearer']).toContain(result.kind);
        if (result.kind === 'bearer') {
          expect(result.token).toMatch(JWT_SHAPE);
          expect(header).toContain(result.token);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('parseBearer finds the token whatever the scheme case and spacing, and nothing more', () => {
    fc.assert(
      fc.property(fc.mixedCase(fc.constant('bearer')), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), (scheme, before, after) => {
        expect(parseBearer(`${scheme}${' '.repeat(before)}${real}${' '.repeat(after)}`)).toEqual({ kind: 'bearer', token: real });
        expect(parseBearer(`${scheme}${' '.repeat(before)}${real}${' '.repeat(after)} ${real}`)).toEqual({ kind: 'malformed' });
        expect(parseBearer(`x${scheme}${' '.repeat(before)}${real}`)).toEqual({ kind: 'malformed' });
      }),
    );
  });

  // The pattern has no nested or overlapping quantifiers (each run of a
  // character class is followed by a character outside it), so it is linear;
  // speed belongs to the bench, so this checks the answers, not the clock.
  it('parseBearer refuses pathological 16 KB headers built to make a regex backtrack', () => {
    const n = 16 * 1024;
    for (const header of [
      `Bearer ${' '.repeat(n)}x`,
      `Bearer a.b.${' '.repeat(n)}x`,
      `Bearer ${'a.'.repeat(n / 2)}`,
      `Bearer ${'a'.repeat(n)}.`,
      `Bearer ${'a'.repeat(n)}.${'a'.repeat(n)}.${'a'.repeat(n)}!`,
      `${'bearer '.repeat(n / 7)}x`,
    ]) {
      expect(parseBearer(header), header.slice(0, 20)).toEqual({ kind: 'malformed' });
    }
  });

  it('verify never throws and refuses any string that is not the token it signed', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, jwtShaped, mutationOf(real)), (token) => {
        fc.pre(token !== real);
        const result = accessTokens.verify(token, now);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(['INVALID_TOKEN', 'TOKEN_EXPIRED']).toContain(result.reason);
      }),
      { numRuns: 2_000 },
    );
  });

  it('verify never throws on well-signed tokens of any header and claim shape, and accepts only well-typed claims', () => {
    const claimName = fc.constantFrom('sub', 'username', 'roles', 'sid', 'jti', 'iat', 'exp', 'nbf', 'fresh', 'iss', 'aud', 'extra');
    const header = fc.oneof(
      fc.constant<unknown>({ alg: 'HS256', typ: 'at+jwt' }),
      fc.jsonValue(),
      fc.record({ alg: fc.oneof(fc.constant('HS256'), fc.jsonValue()), typ: fc.oneof(fc.constant('at+jwt'), fc.jsonValue()) }),
    );
    const payload = fc.oneof(
      fc.tuple(claimName, fc.jsonValue()).map(([name, value]) => ({ ...claims, [name]: value }) as unknown),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(header, payload, (h, p) => {
        const input = `${b64(JSON.stringify(h))}.${b64(JSON.stringify(p) ?? '')}`;
        const token = `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`;
        const result = accessTokens.verify(token, now);
        if (!result.ok) return;
        const c = result.claims;
        expect(typeof c.sub === 'string' && c.sub.length > 0).toBe(true);
        expect(typeof c.username === 'string' && typeof c.sid === 'string' && typeof c.jti === 'string').toBe(true);
        expect(typeof c.fresh).toBe('boolean');
        expect(typeof c.exp === 'number' && c.exp > now / 1000).toBe(true);
        expect(c.roles.every((r) => r === 'USER' || r === 'ADMIN')).toBe(true);
        expect([c.iss, c.aud]).toEqual(['tokengate', 'tokengate']);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** A raw POST to /graphql: status, text and parsed JSON (undefined when the body is not JSON). */
function post(server: TestServer, payload: unknown, headers: Record<string, string> = {}) {
  return postGraphQL(server.url, payload, headers);
}

type Reply = Awaited<ReturnType<typeof post>>;

/** Asserts what holds for every reply: JSON, no 5xx, only contract codes, no leaks outside `data`. */
function expectContractReply(reply: Reply, sent: unknown): NonNullable<Reply['json']> {
  const context = JSON.stringify(sent);
  expect(reply.status, context).toBeLessThan(500);
  expect(reply.json, `non-JSON ${reply.status}: ${reply.text.slice(0, 200)}`).toBeDefined();
  const body = reply.json!;
  for (const error of body.errors ?? []) {
    expect(error.extensions?.code, context).not.toBe('INTERNAL_SERVER_ERROR');
    expect(CONTRACT_CODES, `${context} → ${JSON.stringify(error)}`).toContain(error.extensions?.code);
  }
  // `data` may echo a username the client chose; everything else is ours.
  expect(findLeaks(JSON.stringify({ ...body, data: null })), `${context} → ${reply.text.slice(0, 500)}`).toEqual([]);
  expect(reply.text.includes(TEST_SECRET) || reply.text.includes('$argon2'), context).toBe(false);
  return body;
}

/**
 * A passing HTTP property takes a few seconds. A failing one shrinks its
 * counterexample over HTTP, which can take minutes: shrinking stops after a
 * minute and reports the smallest counterexample found so far (with seed and
 * path to replay). An interrupted run that had not failed still fails.
 */
const SHRINK_TIME = { timeout: 90_000 };
const HTTP_RUNS = (numRuns: number) => ({ numRuns, plugins: [fc.interruptAfterTimeLimit(60_000, { failOnInterrupt: true })] });

const VALID_USERNAME = /^[A-Za-z0-9._-]{3,64}$/;
const codePoints = (s: string) => [...s].length;

describe('the server, for any token, username, password or refresh token', () => {
  const VICTIM_PASSWORD = 'the victim password';
  let server: TestServer;
  let victim: AuthPayload;

  beforeAll(async () => {
    server = await startServer(GENEROUS_LIMITS);
    victim = await signup(server, 'fuzz-victim', VICTIM_PASSWORD);
  });
  afterAll(() => server.stop());

  it('{ me } with any printable Authorization header is 200, data null, UNAUTHENTICATED INVALID_TOKEN', SHRINK_TIME, async () => {
    const printable = fc.string({ maxLength: 300 });
    const header = fc.oneof(
      printable,
      fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER   ', 'Bearer', 'Basic ', 'Token ', 'Bearer Bearer '), printable).map(([a, b]) => a + b),
      fc.tuple(fc.mixedCase(fc.constant('bearer ')), jwtShaped).map(([a, b]) => a + b),
      mutationOf(victim.accessToken).map((t) => `Bearer ${t}`),
    );
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        // fetch refuses some header values outright; those never reach a server.
        let sendable = true;
        try {
          new Headers({ authorization });
        } catch {
          sendable = false;
        }
        fc.pre(sendable);
        const reply = await post(server, { query: '{ me { id } }' }, { authorization });
        const body = expectContractReply(reply, authorization);
        expect(reply.status).toBe(200);
        expect(body.data).toBeNull();
        expect(body.errors).toHaveLength(1);
        // The header is present, so the only possible reason is INVALID_TOKEN (docs/api.md, "Which code when").
        expect(body.errors?.[0]?.extensions, authorization).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
      }),
      HTTP_RUNS(100),
    );
  });

  it('login and signup with any username and password answer only contract codes', SHRINK_TIME, async () => {
    const username = fc.oneof(anyString, fc.stringMatching(VALID_USERNAME), fc.mixedCase(fc.constant('fuzz-victim')));
    const password = fc.oneof(anyString, fc.constant(VICTIM_PASSWORD));
    // Accounts the property itself signs up, by lower-cased username: logging in to them later is a success.
    const accounts = new Map<string, string>([['fuzz-victim', VICTIM_PASSWORD]]);
    await fc.assert(
      fc.asyncProperty(username, password, async (u, p) => {
        const sent = { u, p };
        const loginReply = await post(server, { query: LOGIN, variables: sent });
        const loginBody = expectContractReply(loginReply, sent);
        expect(loginReply.status).toBe(200);
        const loginError = loginBody.errors?.[0]?.extensions;
        if (loginError?.code !== 'RATE_LIMITED') {
          if (accounts.get(u.toLowerCase()) === p) {
            expect(loginBody.errors, JSON.stringify(sent)).toBeUndefined();
          } else if (codePoints(p) > 256) {
            // Refused before hashing (docs/api.md, "Which code when").
            expect(loginError, JSON.stringify(sent)).toEqual({ code: 'BAD_USER_INPUT', field: 'password' });
          } else {
            expect(loginError, JSON.stringify(sent)).toEqual({ code: 'INVALID_CREDENTIALS' });
          }
        }

        const signupReply = await post(server, { query: SIGNUP, variables: sent });
        const signupBody = expectContractReply(signupReply, sent);
        expect(signupReply.status).toBe(200);
        const signupError = signupBody.errors?.[0]?.extensions;
        if (signupError === undefined) {
          expect(VALID_USERNAME.test(u), JSON.stringify(sent)).toBe(true);
          expect((signupBody.data as { signup: { user: { username: string } } }).signup.user.username).toBe(u);
          accounts.set(u.toLowerCase(), p);
        } else if (signupError.code !== 'RATE_LIMITED') {
          if (!VALID_USERNAME.test(u)) {
            expect(signupError.code, JSON.stringify(sent)).toBe('BAD_USER_INPUT');
            expect(['username', 'password']).toContain(signupError.field);
          } else if (codePoints(p) < 8 || codePoints(p) > 256) {
            expect(signupError, JSON.stringify(sent)).toEqual({ code: 'BAD_USER_INPUT', field: 'password' });
          } else {
            expect(['USERNAME_TAKEN', 'BAD_USER_INPUT'], JSON.stringify(sent)).toContain(signupError.code);
          }
        }
      }),
      HTTP_RUNS(100),
    );
  });

  it('login and signup with variables of any JSON type answer only contract codes, never a 5xx', SHRINK_TIME, async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), fc.constantFrom(LOGIN, SIGNUP), async (u, p, query) => {
        const reply = await post(server, { query, variables: { u, p } });
        const body = expectContractReply(reply, { u, p });
        if (typeof u !== 'string' || typeof p !== 'string') {
          expect(body.data ?? null).toBeNull();
          expect(body.errors?.length).toBeGreaterThan(0);
        }
      }),
      HTTP_RUNS(60),
    );
  });

  it('refreshToken with any string is INVALID_REFRESH_TOKEN (or RATE_LIMITED), nothing else', SHRINK_TIME, async () => {
    const token = fc.oneof(
      anyString,
      fc.string({ minLength: 43, maxLength: 43, unit: fc.constantFrom(...BASE64URL) }),
      mutationOf(victim.refreshToken),
      fc.constant(victim.accessToken),
    );
    await fc.assert(
      fc.asyncProperty(token, async (t) => {
        fc.pre(t !== victim.refreshToken);
        const reply = await post(server, { query: REFRESH, variables: { t } });
        const body = expectContractReply(reply, t);
        expect(reply.status).toBe(200);
        expect(body.data).toBeNull();
        expect(body.errors).toHaveLength(1);
        expect(['INVALID_REFRESH_TOKEN', 'RATE_LIMITED'], JSON.stringify(t)).toContain(body.errors?.[0]?.extensions?.code);
      }),
      HTTP_RUNS(100),
    );
  });

  it('signup with any User-Agent a client can send stores it (cut to 512) and mySessions shows it back', SHRINK_TIME, async () => {
    // The User-Agent is the one header stored and shown again: bytes 0x80–0xFF, quotes, backslashes, long values.
    // Every character fetch lets through in a header value: tab, printable ASCII, and obs-text 0x80–0xFF.
    const headerChar = fc.oneof(fc.constant(9), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 600, unit: headerChar }), fc.string({ minLength: 500, maxLength: 700 })), async (userAgent) => {
        let sent: string | null;
        try {
          sent = new Headers({ 'user-agent': userAgent }).get('user-agent');
        } catch {
          sent = null;
        }
        fc.pre(sent !== null && sent !== '');
        const reply = await post(server, { query: SIGNUP, variables: { u: `agent-${n++}`, p: 'a fine long password' } }, { 'user-agent': userAgent });
        const body = expectContractReply(reply, userAgent);
        expect(body.errors, JSON.stringify(userAgent)).toBeUndefined();
        const token = (body.data as { signup: { accessToken: string } }).signup.accessToken;
        const sessions = await post(server, { query: '{ mySessions { userAgent current } }' }, { authorization: `Bearer ${token}` });
        const listed = expectContractReply(sessions, userAgent);
        expect(listed.errors, JSON.stringify(userAgent)).toBeUndefined();
        expect(listed.data).toEqual({ mySessions: [{ userAgent: sent!.slice(0, 512), current: true }] });
      }),
      HTTP_RUNS(60),
    );
  });

  it('after the fuzzing the victim is untouched: old token and refresh token work, login works', async () => {
    const me = await server.gql('{ me { id } }', {}, { token: victim.accessToken });
    expect(me.body.data).toEqual({ me: { id: victim.user.id } });
    const refreshed = await server.gql(REFRESH, { t: victim.refreshToken });
    expect(refreshed.body.errors).toBeUndefined();
    const again = await server.gql(LOGIN, { u: 'fuzz-victim', p: VICTIM_PASSWORD });
    expect(again.body.errors).toBeUndefined();
  });
});
