import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from '@apollo/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuth, createAuthLink, createTabCoordinator, graphqlWsOptions, memoryStore, type Auth, type AuthOptions, type SignOutReason } from '../src/index.js';
import { FakeServer, fakeLocks } from './fake-server.js';

const URI = 'http://tokengate.test/graphql';
const ME: TypedDocumentNode<{ me: { id: string; username: string; roles: string[] } }> = gql`
  query Me {
    me { id username roles }
  }
`;

const opened: Auth[] = [];
afterEach(() => {
  for (const auth of opened.splice(0)) auth.close();
});

let channelCount = 0;
/** A fresh channel name per test, so "tabs" of different tests never hear each other. */
const channelName = () => `tokengate-test-${process.pid}-${++channelCount}`;

function tab(server: FakeServer, options: Partial<AuthOptions> = {}) {
  const signedOut: SignOutReason[] = [];
  const auth = createAuth({ uri: URI, fetch: server.fetch, refreshTokenStore: memoryStore(), tabs: null, onSignedOut: (r) => signedOut.push(r), ...options });
  opened.push(auth);
  const client = new ApolloClient({
    link: ApolloLink.from([createAuthLink(auth), new HttpLink({ uri: URI, fetch: server.fetch, credentials: auth.credentials })]),
    cache: new InMemoryCache(),
  });
  const me = () => client.query({ query: ME, fetchPolicy: 'network-only', context: { queryDeduplication: false } });
  return { auth, client, me, signedOut };
}

describe('the link', () => {
  it('adds the bearer header and leaves anonymous requests without one', async () => {
    const server = new FakeServer();
    const { auth, me } = tab(server);
    await expect(me()).rejects.toBeInstanceOf(CombinedGraphQLErrors);
    expect(server.sent[0]!.authorization).toBeNull();
    await auth.logIn('alice', 'pw');
    const result = await me();
    expect(result.data?.me.username).toBe('alice');
    expect(server.sent.at(-1)!.authorization).toBe(`Bearer ${server.accessToken}`);
  });

  it('refreshes once for 10 parallel queries after expiry, and retries each with the new token', async () => {
    const server = new FakeServer();
    const { auth, me } = tab(server);
    await auth.logIn('alice', 'pw');
    const expired = server.accessToken;
    server.expire();
    const results = await Promise.all(Array.from({ length: 10 }, () => me()));
    for (const r of results) expect(r.data?.me.username).toBe('alice');
    expect(server.count('RefreshToken')).toBe(1);
    const mes = server.sent.filter((r) => r.operationName === 'Me');
    expect(mes.filter((r) => r.authorization === `Bearer ${expired}`)).toHaveLength(10);
    expect(mes.filter((r) => r.authorization === `Bearer ${server.accessToken}`)).toHaveLength(10);
    expect(server.sent.find((r) => r.operationName === 'RefreshToken')!.variables).toEqual({ refreshToken: 'rt-1' });
  });

  it('never loops: a retry that is refused again reaches the app, with one refresh', async () => {
    const server = new FakeServer();
    const { auth, me } = tab(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    // Every token the server issues from now on is born expired.
    const pair = (server as unknown as { pair: () => { accessToken: string } }).pair.bind(server);
    (server as unknown as { pair: () => unknown }).pair = () => {
      const p = pair();
      server.expired.add(p.accessToken);
      return p;
    };
    const error = await me().catch((e: unknown) => e);
    expect(CombinedGraphQLErrors.is(error) && error.errors[0]?.extensions?.reason).toBe('TOKEN_EXPIRED');
    expect(server.count('RefreshToken')).toBe(1);
    expect(server.count('Me')).toBe(2);
  });

  it('TOKEN_REVOKED signs out (callback once), without trying to refresh', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = tab(server);
    await auth.logIn('alice', 'pw');
    server.revoked = true;
    const results = await Promise.allSettled([me(), me(), me()]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(server.count('RefreshToken')).toBe(0);
    expect(signedOut).toEqual(['TOKEN_REVOKED']);
    expect(auth.getState()).toMatchObject({ status: 'signedOut', accessToken: null });
  });

  it('INVALID_TOKEN for the token in use signs out', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = tab(server);
    await auth.logIn('alice', 'pw');
    server.accessToken = 'another';
    await expect(me()).rejects.toBeInstanceOf(CombinedGraphQLErrors);
    expect(signedOut).toEqual(['INVALID_TOKEN']);
  });

  it('INVALID_REFRESH_TOKEN on refresh signs out and hands the original error to the app', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = tab(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    server.refreshRefusal = 'INVALID_REFRESH_TOKEN';
    const results = await Promise.allSettled([me(), me()]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect((r.reason as CombinedGraphQLErrors).errors[0]?.extensions?.reason).toBe('TOKEN_EXPIRED');
    }
    expect(server.count('RefreshToken')).toBe(1);
    expect(signedOut).toEqual(['INVALID_REFRESH_TOKEN']);
    // Signed out: the next query goes out anonymous, and nothing refreshes.
    await expect(me()).rejects.toBeInstanceOf(CombinedGraphQLErrors);
    expect(server.sent.at(-1)!.authorization).toBeNull();
    expect(server.count('RefreshToken')).toBe(1);
  });

  it('RATE_LIMITED on refresh keeps the session (no sign-out)', async () => {
    const server = new FakeServer();
    const { auth, me, signedOut } = tab(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    server.refreshRefusal = 'RATE_LIMITED';
    await expect(me()).rejects.toBeInstanceOf(CombinedGraphQLErrors);
    expect(signedOut).toEqual([]);
    expect(auth.getState().status).toBe('signedIn');
  });
});

describe('header mode', () => {
  it('keeps the refresh token in the store and restores a reloaded page from it', async () => {
    const server = new FakeServer();
    const store = memoryStore();
    const first = tab(server, { refreshTokenStore: store });
    await first.auth.logIn('alice', 'pw');
    expect(store.get()).toBe(server.refreshToken);
    // "Reload": a new page with the same store.
    const second = tab(server, { refreshTokenStore: store });
    expect(await second.auth.restore()).toBe(true);
    expect(server.sent.at(-1)).toMatchObject({ operationName: 'RefreshToken', variables: { refreshToken: 'rt-1' } });
    expect((await second.me()).data?.me.username).toBe('alice');
  });

  it('restore with an empty store sends nothing and stays signed out, without a sign-out callback', async () => {
    const server = new FakeServer();
    const { auth, signedOut } = tab(server);
    expect(await auth.restore()).toBe(false);
    expect(server.sent).toEqual([]);
    expect(auth.getState().status).toBe('signedOut');
    expect(signedOut).toEqual([]);
  });

  it('logOut ends the session on the server and forgets the refresh token', async () => {
    const server = new FakeServer();
    const store = memoryStore();
    const { auth, signedOut } = tab(server, { refreshTokenStore: store });
    await auth.logIn('alice', 'pw');
    await auth.logOut();
    expect(server.sent.at(-1)).toMatchObject({ operationName: 'Logout', authorization: expect.stringMatching(/^Bearer /) });
    expect(store.get()).toBeNull();
    expect(signedOut).toEqual(['logout']);
  });

  it('logOut with an expired token refreshes first, then logs out', async () => {
    const server = new FakeServer();
    const { auth } = tab(server);
    await auth.logIn('alice', 'pw');
    server.expire();
    await auth.logOut();
    expect(server.sent.map((r) => r.operationName)).toEqual(['Login', 'Logout', 'RefreshToken', 'Logout']);
  });
});

describe('cookie mode', () => {
  it('keeps no refresh token in JS, refreshes with X-CSRF-Token and credentials, and restores on reload', async () => {
    const server = new FakeServer();
    const store = memoryStore();
    const { auth, me } = tab(server, { mode: 'cookie', refreshTokenStore: store, readCsrfToken: () => server.csrf });
    expect(auth.credentials).toBe('include');
    expect(await auth.restore()).toBe(true);
    const refresh = server.sent[0]!;
    expect(refresh).toMatchObject({ operationName: 'RefreshToken', csrf: 'csrf-value', credentials: 'include', variables: {} });
    expect(store.get()).toBeNull();
    expect((await me()).data?.me.username).toBe('alice');
    expect(server.sent.at(-1)!.credentials).toBe('include');
  });

  it('restore without a tg_csrf cookie sends nothing', async () => {
    const server = new FakeServer();
    const { auth } = tab(server, { mode: 'cookie', readCsrfToken: () => null });
    expect(await auth.restore()).toBe(false);
    expect(server.sent).toEqual([]);
  });

  it('a refused CSRF check means signed out', async () => {
    const server = new FakeServer();
    const { auth, signedOut } = tab(server, { mode: 'cookie', readCsrfToken: () => 'wrong' });
    await auth.logIn('alice', 'pw');
    expect(await auth.refresh()).toBe(false);
    expect(signedOut).toEqual(['NO_SESSION']);
  });
});

describe('across tabs', () => {
  for (const variant of ['Web Locks', 'BroadcastChannel election'] as const) {
    it(`two tabs meeting an expired token at once refresh once between them (${variant}), and both stay signed in`, async () => {
      const server = new FakeServer();
      const name = channelName();
      const locks = variant === 'Web Locks' ? fakeLocks() : null;
      // The election listens for rival claims for settleMs; on a loaded CI machine 50 ms is not always enough to hear them.
      const settleMs = locks ? 50 : 250;
      const a = tab(server, { tabs: createTabCoordinator({ name, locks, settleMs }) });
      const b = tab(server, { tabs: createTabCoordinator({ name, locks, settleMs }) });
      await a.auth.logIn('alice', 'pw');
      await vi.waitFor(() => expect(b.auth.getAccessToken()).toBe(server.accessToken));
      server.expire();
      const [ra, rb] = await Promise.all([a.me(), b.me()]);
      expect(ra.data?.me.username).toBe('alice');
      expect(rb.data?.me.username).toBe('alice');
      expect(server.count('RefreshToken')).toBe(1);
      expect(a.auth.getAccessToken()).toBe(server.accessToken);
      expect(b.auth.getAccessToken()).toBe(server.accessToken);
    });
  }

  it('a new tab takes the tokens of an open one without a refresh', async () => {
    const server = new FakeServer();
    const name = channelName();
    const a = tab(server, { tabs: createTabCoordinator({ name, locks: fakeLocks() }) });
    await a.auth.logIn('alice', 'pw');
    const b = tab(server, { tabs: createTabCoordinator({ name, locks: fakeLocks() }) });
    expect(await b.auth.restore()).toBe(true);
    expect(b.auth.getAccessToken()).toBe(server.accessToken);
    expect(b.auth.getState().user?.username).toBe('alice');
    expect(server.count('RefreshToken')).toBe(0);
  });

  it('signing out in one tab signs out the other', async () => {
    const server = new FakeServer();
    const name = channelName();
    const a = tab(server, { tabs: createTabCoordinator({ name }) });
    const b = tab(server, { tabs: createTabCoordinator({ name }) });
    await a.auth.logIn('alice', 'pw');
    await vi.waitFor(() => expect(b.auth.getState().status).toBe('signedIn'));
    await a.auth.logOut();
    await vi.waitFor(() => expect(b.auth.getState().status).toBe('signedOut'));
    expect(b.signedOut).toEqual(['other-tab']);
    expect(a.signedOut).toEqual(['logout']);
  });
});

describe('MFA and sign-up', () => {
  it('logIn answers mfaRequired with the mfaToken; verify(code) signs in; a wrong code throws INVALID_MFA_CODE', async () => {
    const server = new FakeServer();
    server.mfa = true;
    const { auth } = tab(server);
    const step = await auth.logIn('alice', 'pw');
    expect(step.status).toBe('mfaRequired');
    if (step.status !== 'mfaRequired') return;
    expect(step.mfaToken).toBe('mfa-1');
    await expect(step.verify('000000')).rejects.toMatchObject({ name: 'AuthError', code: 'INVALID_MFA_CODE' });
    expect(auth.getState().status).toBe('signedOut');
    const done = await step.verify('123456');
    expect(done).toMatchObject({ status: 'signedIn', user: { username: 'alice' } });
    expect(server.sent.at(-1)!.variables).toEqual({ mfaToken: 'mfa-1', code: '123456' });
    expect(auth.getAccessToken()).toBe(server.accessToken);
  });

  it('signUp signs in; errors carry the contract code', async () => {
    const server = new FakeServer();
    const { auth } = tab(server);
    await expect(auth.signUp('alice', 'pw')).resolves.toMatchObject({ status: 'signedIn' });
    server.refreshRefusal = null;
    const failing = createAuth({ uri: URI, tabs: null, fetch: async () => Response.json({ data: null, errors: [{ message: 'taken', extensions: { code: 'USERNAME_TAKEN' } }] }) });
    opened.push(failing);
    await expect(failing.signUp('alice', 'pw')).rejects.toMatchObject({ code: 'USERNAME_TAKEN', message: 'taken' });
  });
});

describe('graphql-ws helper', () => {
  it('sends the token in connectionParams, refreshes after a 4403 TOKEN_EXPIRED close, signs out on TOKEN_REVOKED', async () => {
    const server = new FakeServer();
    const { auth, signedOut } = tab(server);
    const ws = graphqlWsOptions(auth);
    expect(await ws.connectionParams()).toEqual({});
    await auth.logIn('alice', 'pw');
    expect(await ws.connectionParams()).toEqual({ authorization: `Bearer ${server.accessToken}` });
    expect(server.count('RefreshToken')).toBe(0);
    ws.on.closed({ code: 4403, reason: 'TOKEN_EXPIRED' });
    const params = await ws.connectionParams();
    expect(server.count('RefreshToken')).toBe(1);
    expect(params).toEqual({ authorization: `Bearer ${server.accessToken}` });
    ws.on.closed({ code: 1006, reason: '' });
    await ws.connectionParams();
    expect(server.count('RefreshToken')).toBe(1);
    ws.on.closed({ code: 4403, reason: 'TOKEN_REVOKED' });
    expect(signedOut).toEqual(['TOKEN_REVOKED']);
    expect(await ws.connectionParams()).toEqual({});
  });
});
