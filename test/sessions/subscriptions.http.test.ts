import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, TEST_SECRET, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { closedWithin, connectWs, execute, rawClosed, rawSocket, subscribe, upgradeStatus, type WsConnection } from '../helpers/ws.js';

/*
 * Subscriptions over graphql-ws against the real server, with the real
 * graphql-ws client: every close code and reason of docs/api.md
 * ("Subscriptions"), the limits, and sessionEvents. Runs on SQLite and again
 * on PostgreSQL + Redis.
 */
const SESSION_EVENTS = 'subscription { sessionEvents { kind session { id current } } }';
const ROUND_TRIP_BOUND_MS = 1_000; // the contract's "within one second"

interface SessionEventData {
  sessionEvents: { kind: string; session: { id: string; current: boolean } };
}

describe('subscriptions', () => {
  let server: TestServer;
  let admin: AuthPayload;
  const open: WsConnection[] = [];
  const track = (c: WsConnection) => (open.push(c), c);

  beforeAll(async () => {
    server = await startServer({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'admin password 123', SUBSCRIPTIONS_MAX_PER_USER: '3' });
    admin = await login(server, 'root', 'admin password 123');
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.dispose()));
    await server?.stop();
  });

  it('streams CREATED and ENDED for the caller’s sessions, with current relative to the socket', async () => {
    const alice = await signup(server, 'alice');
    const ws = track(connectWs(server.url, { token: alice.accessToken }));
    await ws.connected;
    const events = subscribe<SessionEventData>(ws.client, SESSION_EVENTS);
    // The subscription is live once the server has registered it; a query on the same socket runs after it.
    await execute(ws.client, '{ me { id } }');
    const other = await login(server, 'alice');
    const created = await events.next();
    expect(created.data?.sessionEvents).toEqual({ kind: 'CREATED', session: { id: decodeClaims(other.accessToken).sid, current: false } });
    await server.gql('mutation { logout }', {}, { token: other.accessToken });
    const ended = await events.next();
    expect(ended.data?.sessionEvents).toEqual({ kind: 'ENDED', session: { id: decodeClaims(other.accessToken).sid, current: false } });
    // Another user's sessions are not the caller's business.
    await signup(server, 'bob');
    await execute(ws.client, '{ me { id } }');
    await expect(events.next(300)).rejects.toThrow(/no subscription result/);
  });

  it('an anonymous connection is served public fields, and gets UNAUTHENTICATED/MISSING_TOKEN on sessionEvents while the socket stays open', async () => {
    const ws = track(connectWs(server.url));
    await ws.connected;
    const refused = subscribe(ws.client, SESSION_EVENTS);
    const error = (await refused.errors) as Array<{ extensions?: Record<string, unknown> }>;
    expect(error[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'MISSING_TOKEN' });
    const me = await execute(ws.client, '{ me { id } }');
    expect(me.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'MISSING_TOKEN' });
    expect(ws.closes).toEqual([]);
  });

  it.each([
    ['a token of another scheme', 'Basic abc', 'INVALID_TOKEN'],
    ['garbage', 'Bearer not-a-jwt', 'INVALID_TOKEN'],
    ['a badly signed token', `Bearer ${jwt.sign({ sub: 'x' }, 'another secret that is long enough 0123456789')}`, 'INVALID_TOKEN'],
  ])('connection_init with %s is closed 4403 %s', async (_what, authorization, reason) => {
    const ws = track(connectWs(server.url, { connectionParams: { Authorization: authorization } }));
    expect(await ws.closed).toMatchObject({ code: 4403, reason });
  });

  it('connection_init with an expired token is closed 4403 TOKEN_EXPIRED, with a revoked one 4403 TOKEN_REVOKED', async () => {
    const pair = await signup(server, 'carol');
    const claims = decodeClaims(pair.accessToken);
    const expired = jwt.sign({ ...claims, iat: claims.iat - 3_600, exp: claims.iat - 1_800 }, TEST_SECRET, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } });
    expect(await track(connectWs(server.url, { token: expired })).closed).toMatchObject({ code: 4403, reason: 'TOKEN_EXPIRED' });
    await server.gql('mutation { logout }', {}, { token: pair.accessToken });
    expect(await track(connectWs(server.url, { token: pair.accessToken })).closed).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });

  it.each([
    ['logout', 'mutation { logout }', 'self'],
    ['logoutAll', 'mutation { logoutAll }', 'other'],
    ['revokeSession', 'mutation ($id: ID!) { revokeSession(id: $id) }', 'other'],
  ] as const)('%s closes the session’s socket with 4403 TOKEN_REVOKED within one second of its answer', async (name, mutation, from) => {
    const user = await signup(server, `dave-${name.toLowerCase()}`);
    const second = await login(server, `dave-${name.toLowerCase()}`);
    const ws = track(connectWs(server.url, { token: user.accessToken }));
    await ws.connected;
    const token = from === 'self' ? user.accessToken : second.accessToken;
    const res = await server.gql(mutation, { id: decodeClaims(user.accessToken).sid }, { token });
    expect(res.body.errors).toBeUndefined();
    expect(await closedWithin(ws, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });

  it('a logout sent over the socket itself answers true first, then closes it with 4403 TOKEN_REVOKED', async () => {
    const pair = await signup(server, 'dora');
    const ws = track(connectWs(server.url, { token: pair.accessToken }));
    await ws.connected;
    expect((await execute(ws.client, 'mutation { logout }')).data).toEqual({ logout: true });
    expect(await closedWithin(ws, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });

  it('changePassword closes the caller’s other sessions’ sockets, and keeps its own', async () => {
    const mine = await signup(server, 'erin');
    const other = await login(server, 'erin');
    const otherWs = track(connectWs(server.url, { token: other.accessToken }));
    const mineWs = track(connectWs(server.url, { token: mine.accessToken }));
    await Promise.all([otherWs.connected, mineWs.connected]);
    const res = await server.gql(
      `mutation { changePassword(currentPassword: "correct horse battery", newPassword: "a brand new password") { ${AUTH_FIELDS} } }`,
      {},
      { token: mine.accessToken },
    );
    expect(res.body.errors).toBeUndefined();
    expect(await closedWithin(otherWs, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    expect((await execute(mineWs.client, '{ me { username } }')).data).toEqual({ me: { username: 'erin' } });
  });

  it('refresh-token reuse closes the stolen session’s socket', async () => {
    const grace = await startServer({ REFRESH_REUSE_GRACE: '0s' });
    try {
      const pair = await signup(grace, 'frank');
      const ws = connectWs(grace.url, { token: pair.accessToken });
      await ws.connected;
      const refresh = `mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`;
      expect((await grace.gql(refresh, { t: pair.refreshToken })).body.errors).toBeUndefined();
      const reuse = await grace.gql(refresh, { t: pair.refreshToken });
      expect(reuse.body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
      expect(await closedWithin(ws, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    } finally {
      await grace.stop();
    }
  });

  it('an admin’s resetUserMfa closes every socket of that user with 4403 TOKEN_REVOKED', async () => {
    const user = await signup(server, 'mira');
    const second = await login(server, 'mira');
    const sockets = [user, second].map((p) => track(connectWs(server.url, { token: p.accessToken })));
    await Promise.all(sockets.map((c) => c.connected));
    const res = await server.gql('mutation ($id: ID!) { resetUserMfa(userId: $id) { id } }', { id: user.user.id }, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    for (const ws of sockets) expect(await closedWithin(ws, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });

  it('setUserRoles closes the user’s sockets with 4403 ROLES_CHANGED; the same token then reconnects with the new roles', async () => {
    const gina = await signup(server, 'gina');
    const ws = track(connectWs(server.url, { token: gina.accessToken }));
    await ws.connected;
    const res = await server.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { roles } }', { id: gina.user.id }, { token: admin.accessToken });
    expect(res.body.errors).toBeUndefined();
    expect(await closedWithin(ws, ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'ROLES_CHANGED' });
    const again = track(connectWs(server.url, { token: gina.accessToken }));
    await again.connected;
    expect((await execute(again.client, '{ me { roles } }')).data).toEqual({ me: { roles: ['USER', 'ADMIN'] } });
    // Setting the same roles again changes nothing, so nothing is closed.
    await server.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [ADMIN, USER]) { roles } }', { id: gina.user.id }, { token: admin.accessToken });
    expect((await execute(again.client, '{ me { roles } }')).data).toEqual({ me: { roles: ['USER', 'ADMIN'] } });
    expect(again.closes).toEqual([]);
  });

  it('refuses a user’s connection beyond SUBSCRIPTIONS_MAX_PER_USER with 4429 TOO_MANY_CONNECTIONS', async () => {
    const hank = await signup(server, 'hank');
    const allowed = [0, 1, 2].map(() => track(connectWs(server.url, { token: hank.accessToken })));
    await Promise.all(allowed.map((c) => c.connected));
    const extra = track(connectWs(server.url, { token: hank.accessToken }));
    expect(await extra.closed).toMatchObject({ code: 4429, reason: 'TOO_MANY_CONNECTIONS' });
    // Closing one frees a place.
    await allowed[0]!.dispose();
    await new Promise((r) => setTimeout(r, 50));
    const replacement = track(connectWs(server.url, { token: hank.accessToken }));
    await replacement.connected;
  });

  it('closes a socket that sends no connection_init with 4408', async () => {
    const socket = rawSocket(server.url);
    expect(await rawClosed(socket)).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
  });

  it('applies the HTTP query limits and codes: a parse error, an unknown field, too many aliases', async () => {
    const ws = track(connectWs(server.url));
    await ws.connected;
    const parseError = (await subscribe(ws.client, 'subscription {').errors) as Array<{ extensions?: Record<string, unknown> }>;
    expect(parseError[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    const unknown = (await subscribe(ws.client, 'subscription { nothing }').errors) as Array<{ extensions?: Record<string, unknown> }>;
    expect(unknown[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const manyAliases = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const aliases = await execute(ws.client, manyAliases).then(
      (r) => r.errors,
      (e: unknown) => e,
    );
    expect((aliases as Array<{ extensions?: Record<string, unknown> }>)[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(ws.closes).toEqual([]);
  });

  it('closes a socket whose message is over BODY_LIMIT with 1009', async () => {
    const socket = rawSocket(server.url);
    await new Promise((r) => socket.once('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(server.config.bodyLimitBytes + 1) } }));
    expect((await rawClosed(socket)).code).toBe(1009);
  });

  it('counts open sockets for the metrics gauge', async () => {
    // A server of its own: sockets the tests above closed may still be closing on the shared one.
    const own = await startServer();
    try {
      const counts: number[] = [];
      const off = own.app.subscriptions.onConnectionCountChange((n) => counts.push(n));
      const ws = connectWs(own.url);
      await ws.connected;
      expect(own.app.subscriptions.connectionCount()).toBe(1);
      await ws.dispose();
      await new Promise((r) => setTimeout(r, 50));
      off();
      expect(counts).toEqual([1, 0]);
    } finally {
      await own.stop();
    }
  });
});

describe('subscriptions: token expiry', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ACCESS_TOKEN_TTL: '2s' });
  });
  afterAll(() => server?.stop());

  it('closes the socket with 4403 TOKEN_EXPIRED when its access token expires', async () => {
    const pair = await signup(server, 'ivy');
    const ws = connectWs(server.url, { token: pair.accessToken });
    await ws.connected;
    const untilExpiry = decodeClaims(pair.accessToken).exp * 1000 - Date.now();
    expect(await closedWithin(ws, untilExpiry + ROUND_TRIP_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_EXPIRED' });
  });

  it('a subscription survives expiry through the client’s reconnect with a refreshed token, and still gets events', async () => {
    let pair = await signup(server, 'jack');
    let refreshes = 0;
    const ws = connectWs(server.url, {
      retryAttempts: 5,
      retryWait: async () => {},
      shouldRetry: () => true,
      // As the README's GraphQLWsLink example: refresh first when the token is (about to be) expired.
      connectionParams: async () => {
        if (decodeClaims(pair.accessToken).exp * 1000 - Date.now() < 500) {
          const res = await server.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: pair.refreshToken });
          pair = res.body.data!.refreshToken;
          refreshes++;
        }
        return { authorization: `Bearer ${pair.accessToken}` };
      },
    });
    await ws.connected;
    const events = subscribe<SessionEventData>(ws.client, SESSION_EVENTS);
    const firstExp = decodeClaims(pair.accessToken).exp * 1000;
    // Wait for the server to close the socket at expiry and the client to come back.
    while (ws.connections() < 2) {
      if (Date.now() > firstExp + 5_000) throw new Error('the client did not reconnect');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ws.closes[0]).toMatchObject({ code: 4403, reason: 'TOKEN_EXPIRED' });
    expect(refreshes).toBeGreaterThanOrEqual(1);
    await execute(ws.client, '{ me { id } }'); // the re-sent subscription is registered before this runs
    const other = await login(server, 'jack');
    const created = await events.next();
    expect(created.data?.sessionEvents.kind).toBe('CREATED');
    expect(created.data?.sessionEvents.session.id).toBe(decodeClaims(other.accessToken).sid);
    await ws.dispose();
  });
});

describe('subscriptions: upgrade checks', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ CORS_ORIGINS: 'https://app.example', RATE_LIMIT_WS_ADDRESS: '6/1m', GRAPHQL_MAX_DEPTH: '2' });
  });
  afterAll(() => server?.stop());

  it('refuses a too-deep subscription document with GRAPHQL_VALIDATION_FAILED, as HTTP does', async () => {
    const ws = connectWs(server.url);
    await ws.connected;
    const deep = (await subscribe(ws.client, SESSION_EVENTS).errors) as Array<{ extensions?: Record<string, unknown> }>;
    expect(deep[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const http = await server.gql('{ users { nodes { id } } }');
    expect(http.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    await ws.dispose();
  });

  it('refuses an upgrade from an Origin that CORS_ORIGINS does not allow with 403; the per-address budget counts connections (429)', async () => {
    expect(await upgradeStatus(server.url, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(server.url, { origin: 'https://app.example' })).toBe(101);
    expect(await upgradeStatus(server.url)).toBe(101);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await upgradeStatus(server.url));
    // 6 per minute: three were spent above (the depth test's, and two here; the 403 was refused before any charge).
    expect(statuses).toEqual([101, 101, 101, 429]);
  });
});

describe('subscriptions: the default per-user limit', () => {
  it('refuses the 11th connection of one user (4429), across sessions', async () => {
    const server = await startServer();
    const sockets: WsConnection[] = [];
    try {
      const first = await signup(server, 'lena');
      const tokens = [first.accessToken, ...(await Promise.all([1, 2].map(() => login(server, 'lena')))).map((p) => p.accessToken)];
      for (let i = 0; i < 10; i++) sockets.push(connectWs(server.url, { token: tokens[i % tokens.length] }));
      await Promise.all(sockets.map((c) => c.connected));
      const eleventh = connectWs(server.url, { token: tokens[0] });
      sockets.push(eleventh);
      expect(await eleventh.closed).toMatchObject({ code: 4429, reason: 'TOO_MANY_CONNECTIONS' });
      expect(sockets.slice(0, 10).every((c) => c.closes.length === 0)).toBe(true);
    } finally {
      await Promise.all(sockets.map((c) => c.dispose()));
      await server.stop();
    }
  });
});

describe('subscriptions: graceful shutdown', () => {
  it('stop() closes open sockets with 1001', async () => {
    const server = await startServer();
    const pair = await signup(server, 'kate');
    const ws = connectWs(server.url, { token: pair.accessToken });
    await ws.connected;
    subscribe(ws.client, SESSION_EVENTS);
    await server.stop();
    expect((await ws.closed).code).toBe(1001);
  });

  it('stop() lets a mutation in flight on a socket answer before closing it with 1001', async () => {
    // A costly hash keeps the login running while stop() begins.
    const server = await startServer({ ARGON2_MEMORY_KIB: '65536', ARGON2_TIME_COST: '4' });
    await signup(server, 'liam');
    const ws = connectWs(server.url);
    await ws.connected;
    const answer = execute<{ login: { accessToken: string } }>(ws.client, 'mutation { login(username: "liam", password: "correct horse battery") { accessToken } }');
    await new Promise((r) => setTimeout(r, 100)); // the mutation reached the server and is hashing
    const stopped = server.stop();
    expect((await answer).data?.login.accessToken).toMatch(/^ey/);
    await stopped;
    expect((await ws.closed).code).toBe(1001);
  });
});
