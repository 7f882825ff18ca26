/**
 * End to end: a frontend-style Apollo Client 4 app against the real server.
 *
 * The client keeps its tokens in memory, sends `Authorization: Bearer <access>`
 * on every operation, and on `UNAUTHENTICATED`/`TOKEN_EXPIRED` refreshes once
 * (one shared refresh for every request in flight) and retries — the "Client
 * advice" of shared/API.md. Access tokens live 1 second here, so the test
 * really waits for them to expire.
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import type { TypedDocumentNode } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, switchMap } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

interface User {
  id: string;
  username: string;
  roles: string[];
}

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: User;
}

const SIGNUP: TypedDocumentNode<{ signup: AuthPayload }, { username: string; password: string }> = gql`
  mutation Signup($username: String!, $password: String!) {
    signup(username: $username, password: $password) {
      accessToken
      refreshToken
      user { id username roles }
    }
  }
`;

const LOGIN: TypedDocumentNode<{ login: AuthPayload }, { username: string; password: string }> = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken
      refreshToken
      user { id username roles }
    }
  }
`;

const REFRESH_TOKEN: TypedDocumentNode<{ refreshToken: AuthPayload }, { refreshToken: string }> = gql`
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      user { id username roles }
    }
  }
`;

const LOGOUT: TypedDocumentNode<{ logout: boolean }, Record<string, never>> = gql`
  mutation Logout {
    logout
  }
`;

const ME: TypedDocumentNode<{ me: User }, Record<string, never>> = gql`
  query Me {
    me { id username roles }
  }
`;

// ---------------------------------------------------------------------------
// The client, as the README shows it
// ---------------------------------------------------------------------------

/** Where the app keeps its tokens: in memory, never in Apollo's cache. */
interface TokenStore {
  accessToken: string | null;
  refreshToken: string | null;
}

function createClient(uri: string, fetchImpl: typeof fetch = fetch) {
  const tokens: TokenStore = { accessToken: null, refreshToken: null };

  // Adds the access token to every operation, and remembers which token it sent.
  const authLink = new SetContextLink((prevContext) => ({
    accessToken: tokens.accessToken,
    headers: {
      ...prevContext.headers,
      ...(tokens.accessToken ? { authorization: `Bearer ${tokens.accessToken}` } : {}),
    },
  }));

  // One refresh at a time: every request that meets TOKEN_EXPIRED while a
  // refresh is in flight waits for that same refresh.
  let refreshing: Promise<void> | null = null;
  function refreshTokens(expiredAccessToken: string | null): Promise<void> {
    // Someone already refreshed since this request was sent: just retry.
    if (refreshing === null && tokens.accessToken !== expiredAccessToken) return Promise.resolve();
    refreshing ??= client
      .mutate({
        mutation: REFRESH_TOKEN,
        variables: { refreshToken: tokens.refreshToken ?? '' },
        fetchPolicy: 'no-cache',
      })
      .then(({ data }) => {
        if (!data) throw new Error('refreshToken returned no data');
        tokens.accessToken = data.refreshToken.accessToken;
        tokens.refreshToken = data.refreshToken.refreshToken;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  // Refreshes on TOKEN_EXPIRED only, then retries the operation. It runs
  // before authLink, so forward(operation) goes through authLink again and
  // the retry carries the new access token.
  const errorLink = new ErrorLink(({ error, operation, forward }) => {
    if (!CombinedGraphQLErrors.is(error)) return;
    const expired = error.errors.some(
      (e) => e.extensions?.code === 'UNAUTHENTICATED' && e.extensions?.reason === 'TOKEN_EXPIRED',
    );
    if (!expired) return;
    const sentToken = operation.getContext().accessToken as string | null;
    return from(refreshTokens(sentToken)).pipe(switchMap(() => forward(operation)));
  });

  const client = new ApolloClient({
    link: ApolloLink.from([errorLink, authLink, new HttpLink({ uri, fetch: fetchImpl })]),
    cache: new InMemoryCache(),
  });

  return { client, tokens };
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
  expect(wait).toBeLessThan(1_100); // a 1 s token, as configured
  if (wait > 0) await sleep(wait);
}

/**
 * Waits for the start of the next whole second. `iat`/`exp` are whole
 * seconds, so a 1 s token issued late in a second may expire a few ms later;
 * issued right after this, it lives ~1 s.
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

describe('Apollo Client 4 against the real server (1 s access tokens)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ ACCESS_TOKEN_TTL: '1s' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('refreshes an expired token once, shares it between concurrent requests, and stops at TOKEN_REVOKED', async () => {
    const sent: SentRequest[] = [];
    const { client, tokens } = createClient(`${server.url}/graphql`, recordingFetch(sent));
    const refreshCalls = () => sent.filter((r) => r.operationName === 'RefreshToken').length;
    const username = `apollo_${Date.now().toString(36)}`;
    const password = 'correct horse battery staple';

    // Sign up, then log in, through the client, keeping tokens out of the cache.
    const signup = await client.mutate({ mutation: SIGNUP, variables: { username, password }, fetchPolicy: 'no-cache' });
    expect(signup.data?.signup.user).toMatchObject({ username, roles: ['USER'] });

    await startOfNextSecond();
    const login = await client.mutate({ mutation: LOGIN, variables: { username, password }, fetchPolicy: 'no-cache' });
    const loginPayload = login.data!.login;
    expect(loginPayload.user.id).toBe(signup.data!.signup.user.id);
    tokens.accessToken = loginPayload.accessToken;
    tokens.refreshToken = loginPayload.refreshToken;

    // A valid token: `me` answers without any refresh.
    const expectedMe = { __typename: 'User', id: loginPayload.user.id, username, roles: ['USER'] };
    const first = await client.query({ query: ME, fetchPolicy: 'network-only' });
    expect(first.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(0);

    // The access token expires: the error link refreshes once and retries.
    await waitUntilExpired(tokens.accessToken);
    const second = await client.query({ query: ME, fetchPolicy: 'network-only' });
    expect(second.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(1);
    expect(tokens.refreshToken).not.toBe(loginPayload.refreshToken);
    expect(tokens.accessToken).not.toBe(loginPayload.accessToken);
    // On the wire: Me with the expired token, RefreshToken, Me again with the new one.
    expect(sent.slice(-3)).toEqual([
      { operationName: 'Me', authorization: `Bearer ${loginPayload.accessToken}` },
      { operationName: 'RefreshToken', authorization: `Bearer ${loginPayload.accessToken}` },
      { operationName: 'Me', authorization: `Bearer ${tokens.accessToken}` },
    ]);

    // Expired again: two concurrent requests share one refresh.
    await waitUntilExpired(tokens.accessToken);
    const expiredAccessToken = tokens.accessToken;
    const refreshTokenBefore = tokens.refreshToken;
    const sentBefore = sent.length;
    // queryDeduplication: false makes them two real HTTP requests, as two components would.
    const [a, b] = await Promise.all([
      client.query({ query: ME, fetchPolicy: 'network-only', context: { queryDeduplication: false } }),
      client.query({ query: ME, fetchPolicy: 'network-only', context: { queryDeduplication: false } }),
    ]);
    expect(a.data?.me).toEqual(expectedMe);
    expect(b.data?.me).toEqual(expectedMe);
    expect(refreshCalls()).toBe(2);
    expect(tokens.refreshToken).not.toBe(refreshTokenBefore);
    const burst = sent.slice(sentBefore);
    expect(burst.filter((r) => r.operationName === 'RefreshToken')).toHaveLength(1);
    expect(burst.filter((r) => r.operationName === 'Me').map((r) => r.authorization)).toEqual([
      `Bearer ${expiredAccessToken}`,
      `Bearer ${expiredAccessToken}`,
      `Bearer ${tokens.accessToken}`,
      `Bearer ${tokens.accessToken}`,
    ]);

    // Log out; the app still holds the ended session's token (say, in another tab).
    const logout = await client.mutate({ mutation: LOGOUT });
    expect(logout.data?.logout).toBe(true);
    const refreshesBeforeRevoked = refreshCalls();

    const error = await rejectionOf(client.query({ query: ME, fetchPolicy: 'network-only' }));
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    if (!CombinedGraphQLErrors.is(error)) return;
    expect(error.errors[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    // TOKEN_REVOKED means signed out: no refresh was attempted.
    expect(refreshCalls()).toBe(refreshesBeforeRevoked);
  });
});
