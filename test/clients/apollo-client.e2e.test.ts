/**
 * End to end: a frontend-style Apollo Client 4 app against the real server,
 * with tokengate's auth kit (packages/apollo-auth) as the README shows it.
 *
 * The kit keeps the access token in memory, sends `Authorization: Bearer
 * <access>` on every operation, and on `UNAUTHENTICATED`/`TOKEN_EXPIRED`
 * refreshes once (one shared refresh for every request in flight) and
 * retries — the "Client advice" of docs/api.md. Access tokens live 2 seconds
 * here, so the test really waits for them to expire. (The browser tests in
 * the *.browser.test.ts files prove the cross-tab and cookie parts in Chromium.)
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import type { TypedDocumentNode } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth, createAuthLink, memoryStore, type SignOutReason } from '../../packages/apollo-auth/src/index.js';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { startServer, type TestServer } from '../helpers/server.js';

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

interface User {
  id: string;
  username: string;
  roles: string[];
}

const ME: TypedDocumentNode<{ me: User }, Record<string, never>> = gql`
  query Me {
    me { id username roles }
  }
`;

// ---------------------------------------------------------------------------
// The client, as the README shows it
// ---------------------------------------------------------------------------

function createClient(uri: string, fetchImpl: typeof fetch) {
  const signedOut: SignOutReason[] = [];
  // tabs: null — one "tab" in Node; memoryStore — no sessionStorage here.
  const auth = createAuth({ uri, fetch: fetchImpl, refreshTokenStore: memoryStore(), tabs: null, onSignedOut: (reason) => signedOut.push(reason) });
  const client = new ApolloClient({
    link: ApolloLink.from([createAuthLink(auth), new HttpLink({ uri, fetch: fetchImpl, credentials: auth.credentials })]),
    cache: new InMemoryCache(),
  });
  return { client, auth, signedOut };
}

// ---------------------------------------------------------------------------
// Test plumbing
// ---------------------------------------------------------------------------

/** One HTTP request the client made, as seen on the wire. */
interface SentRequest {
  operationName: string;
  authorization: string | null;
}

/** A fetch that records every GraphQL request before sending it. */
function recordingFetch(log: SentRequest[]): typeof fetch {
  return (input, init) => {
    const body = JSON.parse(String(init?.body)) as { operationName?: string };
    const authorization = new Headers(init?.headers).get('authorization');
    log.push({ operationName: body.operationName ?? '', authorization });
    return fetch(input, init);
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `exp` claim of a JWT, in milliseconds. */
function expiresAtMs(jwt: string): number {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
  return payload.exp * 1000;
}

/** Waits until the server (same clock, `exp` checked with no leeway) treats the token as expired. */
async function waitUntilExpired(jwt: string): Promise<void> {
  const wait = expiresAtMs(jwt) - Date.now() + 50;
  expect(wait).toBeLessThan(2_100); // a 2 s token, as configured
  if (wait > 0) await sleep(wait);
}

/**
 * Waits for the start of the next whole second. `iat`/`exp` are whole
 * seconds, so a 2 s token issued late in a second may expire a few ms later;
 * issued right after this, it lives ~2 s.
 */
async function startOfNextSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 20);
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

describe('Apollo Client 4 against the real server (2 s access tokens, so a loaded machine still retries in time)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ ACCESS_TOKEN_TTL: '2s' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('refreshes an expired token once, shares it between concurrent requests, and stops at TOKEN_REVOKED', async () => {
    const sent: SentRequest[] = [];
    const { client, auth, signedOut } = createClient(`${server.url}/graphql`, recordingFetch(sent));
    const refreshCalls = () => sent.filter((r) => r.operationName === 'RefreshToken').length;
    const username = `apollo_${Date.now().toString(36)}`;
    const password = 'correct horse battery staple';

    // Sign up, then log in, through the kit (its own requests: tokens never sit in Apollo's cache).
    const signup = await auth.signUp(username, password);
    expect(signup).toMatchObject({ status: 'signedIn', user: { username, roles: ['USER'] } });
    const signupToken = auth.getAccessToken();

    await startOfNextSecond();
    const login = await auth.logIn(username, password);
    expect(login.status).toBe('signedIn');
    const loginAccessToken = auth.getAccessToken()!;
    expect(loginAccessToken).not.toBe(signupToken);
    const userId = login.status === 'signedIn' ? login.user?.id : undefined;

    // A valid token: `me` answers without any refresh.
    const expectedMe = { __typename: 'User', id: userId, username, roles: ['USER'] };
    const first = await client.query({ query: ME, fetchPolicy: 'network-only' });
    expect(first.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(0);

    // The access token expires: the link refreshes once and retries.
    await waitUntilExpired(loginAccessToken);
    const second = await client.query({ query: ME, fetchPolicy: 'network-only' });
    expect(second.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(1);
    expect(auth.getAccessToken()).not.toBe(loginAccessToken);
    // On the wire: Me with the expired token, RefreshToken (no bearer needed), Me again with the new one.
    expect(sent.slice(-3)).toEqual([
      { operationName: 'Me', authorization: `Bearer ${loginAccessToken}` },
      { operationName: 'RefreshToken', authorization: null },
      { operationName: 'Me', authorization: `Bearer ${auth.getAccessToken()}` },
    ]);

    // Expired again: ten concurrent requests share one refresh.
    const expiredAccessToken = auth.getAccessToken()!;
    await waitUntilExpired(expiredAccessToken);
    const sentBefore = sent.length;
    // queryDeduplication: false makes them real HTTP requests, as ten components would.
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.query({ query: ME, fetchPolicy: 'network-only', context: { queryDeduplication: false } })),
    );
    for (const r of results) expect(r.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(2);
    const burst = sent.slice(sentBefore);
    expect(burst.filter((r) => r.operationName === 'RefreshToken')).toHaveLength(1);
    const mes = burst.filter((r) => r.operationName === 'Me').map((r) => r.authorization);
    expect(mes.filter((a) => a === `Bearer ${expiredAccessToken}`)).toHaveLength(10);
    expect(mes.filter((a) => a === `Bearer ${auth.getAccessToken()}`)).toHaveLength(10);

    // A new 2 s token, so the next steps usually meet TOKEN_REVOKED before TOKEN_EXPIRED.
    await startOfNextSecond();
    expect(await auth.refresh()).toBe(true);
    // The session ends behind the app's back: "log out everywhere" from another device.
    const otherDevice = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', variables: { u: username, p: password } }),
    });
    const { data: other } = (await otherDevice.json()) as { data: { login: { accessToken: string } } };
    const everywhere = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${other.login.accessToken}` },
      body: JSON.stringify({ query: 'mutation { logoutAll }' }),
    });
    // Three sessions: the signup's, the app's login, and the other device's.
    expect(await everywhere.json()).toEqual({ data: { logoutAll: 3 } });
    const refreshesBeforeRevoked = refreshCalls();

    const error = await rejectionOf(client.query({ query: ME, fetchPolicy: 'network-only' }));
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    if (!CombinedGraphQLErrors.is(error)) return;
    const reason = error.errors[0]?.extensions?.reason;
    if (reason === 'TOKEN_REVOKED') {
      // TOKEN_REVOKED means signed out: no refresh was attempted, the app was told once.
      expect(refreshCalls()).toBe(refreshesBeforeRevoked);
      expect(signedOut).toEqual(['TOKEN_REVOKED']);
    } else {
      // On a loaded machine the 2 s token may expire first (an expired token is always TOKEN_EXPIRED):
      // then one refresh is tried, answered INVALID_REFRESH_TOKEN, and that signs out. No loop either way.
      expect(reason).toBe('TOKEN_EXPIRED');
      expect(refreshCalls()).toBe(refreshesBeforeRevoked + 1);
      expect(signedOut).toEqual(['INVALID_REFRESH_TOKEN']);
    }
    expect(auth.getState().status).toBe('signedOut');
  });

  it('logOut ends the session on the server: its refresh token stops working', async () => {
    const sent: SentRequest[] = [];
    const { auth, signedOut } = createClient(`${server.url}/graphql`, recordingFetch(sent));
    await auth.signUp(`apollo_out_${Date.now().toString(36)}`, 'correct horse battery staple');
    await auth.logOut();
    expect(sent.at(-1)).toMatchObject({ operationName: 'Logout' });
    expect(signedOut).toEqual(['logout']);
    expect(await auth.refresh()).toBe(false);
  });

  it('logIn of a user with TOTP on answers mfaRequired; verify(code) signs in (a wrong code throws INVALID_MFA_CODE)', async () => {
    const { client, auth } = createClient(`${server.url}/graphql`, fetch);
    const username = `apollo_mfa_${Date.now().toString(36)}`;
    const password = 'correct horse battery staple';
    await auth.signUp(username, password);
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${auth.getAccessToken()}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as { data: Record<string, { secret: string }> | null; errors?: unknown[] };
    };
    const { secret } = (await post('mutation { enrollTotp { secret } }')).data!.enrollTotp!;
    expect((await post('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, Date.now()) })).errors).toBeUndefined();
    await auth.logOut();

    const step = await auth.logIn(username, password);
    expect(step.status).toBe('mfaRequired');
    if (step.status !== 'mfaRequired') return;
    await expect(step.verify('000000')).rejects.toMatchObject({ code: 'INVALID_MFA_CODE' });
    // The confirming code is spent; the next step's is accepted (one step of skew).
    const done = await step.verify(generateTotpCode(secret, Date.now() + 30_000));
    expect(done).toMatchObject({ status: 'signedIn', user: { username } });
    const me = await client.query({ query: ME, fetchPolicy: 'network-only' });
    expect(me.data?.me.username).toBe(username);
  });
});
