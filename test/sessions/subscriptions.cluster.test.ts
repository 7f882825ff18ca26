import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, serviceUrls } from '../helpers/backend.js';
import { startInstance, type Instance } from '../helpers/instances.js';
import { decodeClaims } from '../helpers/jwt.js';
import { OwnRedis } from '../helpers/own-services.js';
import { AUTH_FIELDS, type AuthPayload } from '../helpers/server.js';
import { closedWithin, connectWs, execute, subscribe, type WsConnection } from '../helpers/ws.js';

/*
 * Subscriptions on two real tokengate processes sharing PostgreSQL (and, in
 * the first mode, Redis): a write on A closes or feeds a socket held by B,
 * through Redis pub/sub or PostgreSQL LISTEN/NOTIFY; and a lost subscriber
 * connection never leaves a revoked socket open.
 */
const SIGNUP = `mutation ($u: String!, $p: String!) { signup(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const SESSION_EVENTS = 'subscription { sessionEvents { kind session { id current } } }';
const PASSWORD = 'correct horse battery';
const BOUND_MS = 1_000; // the contract's "within one second"
/** The fail-safe's bound: the bus is down, so a re-check (every SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL = 1 s) must catch it. */
const FAIL_SAFE_BOUND_MS = 3_000;

async function signup(on: Instance, username: string): Promise<AuthPayload> {
  const res = await on.gql<{ signup: AuthPayload }>(SIGNUP, { u: username, p: PASSWORD });
  if (!res.body.data?.signup) throw new Error(JSON.stringify(res.body));
  return res.body.data.signup;
}
async function login(on: Instance, username: string): Promise<AuthPayload> {
  const res = await on.gql<{ login: AuthPayload }>(LOGIN, { u: username, p: PASSWORD });
  if (!res.body.data?.login) throw new Error(JSON.stringify(res.body));
  return res.body.data.login;
}
function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe.each([
  { mode: 'PostgreSQL + Redis (Redis pub/sub)', redis: true },
  { mode: 'PostgreSQL only (LISTEN/NOTIFY)', redis: false },
])('subscriptions on two instances, $mode', ({ redis }) => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;
  const prefix = `tg-ws-${randomBytes(4).toString('hex')}:`;
  const sockets: WsConnection[] = [];
  const onB = (token: string) => {
    const ws = connectWs(b.url, { token });
    sockets.push(ws);
    return ws;
  };

  /** Cuts the instances' event-bus subscriber connections (both A's and B's), as a network partition would. */
  const cutBus = async (): Promise<number> => {
    if (redis) {
      const client = new Redis(serviceUrls().redisUrl);
      try {
        const list = (await client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
        const ids = list
          .split('\n')
          .filter((line) => line.includes(` name=tokengate-auth-events:${prefix} `))
          .map((line) => /id=(\d+)/.exec(line)![1]!);
        for (const id of ids) await client.call('CLIENT', 'KILL', 'ID', id);
        return ids.length;
      } finally {
        client.disconnect();
      }
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const res = await client.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tokengate-auth-events' and datname = current_database()",
      );
      return res.rowCount ?? 0;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    database = await createDatabase();
    const env: Record<string, string> = { DATABASE_URL: database.url, LOG_LEVEL: 'warn', ADMIN_USERNAME: 'root', ADMIN_PASSWORD: PASSWORD };
    if (redis) Object.assign(env, { REDIS_URL: serviceUrls().redisUrl, REDIS_PREFIX: prefix });
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it('a socket on B is closed 4403 TOKEN_REVOKED within one second of a logout answered by A (20 runs)', async () => {
    await signup(a, 'wanda');
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const pair = await login(a, 'wanda');
      const ws = onB(pair.accessToken);
      await ws.connected;
      const out = await a.gql<{ logout: boolean }>('mutation { logout }', {}, pair.accessToken);
      const answered = Date.now();
      expect(out.body.data?.logout).toBe(true);
      expect(await closedWithin(ws, BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
      latencies.push(Date.now() - answered);
    }
    console.log(`[${redis ? 'redis' : 'postgres'}] logout on A -> close on B: median ${median(latencies)} ms, max ${Math.max(...latencies)} ms over 20 runs`);
  });

  it('a login on A is a CREATED event on B; its logout an ENDED event', async () => {
    const owner = await signup(a, 'xena');
    const ws = onB(owner.accessToken);
    await ws.connected;
    const events = subscribe<{ sessionEvents: { kind: string; session: { id: string; current: boolean } } }>(ws.client, SESSION_EVENTS);
    await execute(ws.client, '{ me { id } }');
    const other = await login(a, 'xena');
    const sid = decodeClaims(other.accessToken).sid;
    expect((await events.next()).data?.sessionEvents).toEqual({ kind: 'CREATED', session: { id: sid, current: false } });
    await a.gql('mutation { logout }', {}, other.accessToken);
    expect((await events.next()).data?.sessionEvents).toEqual({ kind: 'ENDED', session: { id: sid, current: false } });
  });

  it('setUserRoles on A closes the user’s socket on B with 4403 ROLES_CHANGED', async () => {
    const bossPair = await login(a, 'root');
    const target = await signup(a, 'yara');
    const ws = onB(target.accessToken);
    await ws.connected;
    const res = await a.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { roles } }', { id: target.user.id }, bossPair.accessToken);
    expect(res.body.errors).toBeUndefined();
    expect(await closedWithin(ws, BOUND_MS)).toMatchObject({ code: 4403, reason: 'ROLES_CHANGED' });
  });

  it('fail-safe: with the subscriber connections cut, a logout on A still closes the socket on B', async () => {
    const pair = await signup(a, 'zoe');
    const ws = onB(pair.accessToken);
    await ws.connected;
    expect(await cutBus()).toBeGreaterThanOrEqual(2); // A's and B's
    // Published while B's subscriber is away: the message itself is lost.
    const out = await a.gql<{ logout: boolean }>('mutation { logout }', {}, pair.accessToken);
    expect(out.body.data?.logout).toBe(true);
    expect(await closedWithin(ws, FAIL_SAFE_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    expect(b.output()).toMatch(/auth event bus down/);
  });

  it('after the bus came back, revocations reach B within one second again, and untouched sockets stay open', async () => {
    const keep = await signup(a, 'ursula');
    const kept = onB(keep.accessToken);
    await kept.connected;
    await cutBus();
    await new Promise((r) => setTimeout(r, 1_500)); // reconnected and re-checked meanwhile
    const pair = await login(a, 'ursula');
    const ws = onB(pair.accessToken);
    await ws.connected;
    await a.gql('mutation { logout }', {}, pair.accessToken);
    expect(await closedWithin(ws, BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    expect((await execute(kept.client, '{ me { username } }')).data).toEqual({ me: { username: 'ursula' } });
    expect(kept.closes).toEqual([]);
  });
});

describe('subscriptions on two instances while Redis restarts', () => {
  let a: Instance;
  let b: Instance;
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let redis: OwnRedis;
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    database = await createDatabase();
    redis = await OwnRedis.create();
    // Reuse grace 0: a replayed refresh token revokes its session even while Redis is down (the door's 'proceed' policy).
    const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn', REFRESH_REUSE_GRACE: '0s' };
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.destroy();
    await database?.drop();
  });

  it('a session revoked while Redis is down has its socket on B closed; after the restart logouts reach B again', async () => {
    const victim = await signup(a, 'victor');
    const bystander = await login(a, 'victor');
    const ws = connectWs(b.url, { token: victim.accessToken });
    const other = connectWs(b.url, { token: bystander.accessToken });
    sockets.push(ws, other);
    await Promise.all([ws.connected, other.connected]);

    await redis.stop();
    // Theft detected with Redis away: committed in PostgreSQL, but no pub/sub message can carry it.
    expect((await a.gql(REFRESH, { t: victim.refreshToken })).body.errors).toBeUndefined();
    const reuse = await a.gql(REFRESH, { t: victim.refreshToken });
    expect(reuse.body.errors?.[0]?.extensions?.code).toBe('INVALID_REFRESH_TOKEN');
    expect(await closedWithin(ws, FAIL_SAFE_BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });

    await redis.start();
    // The bystander's socket was never revoked: it survives the outage (re-checked against PostgreSQL meanwhile).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(other.closes).toEqual([]);
    const out = await a.gql<{ logout: boolean }>('mutation { logout }', {}, bystander.accessToken);
    expect(out.body.data?.logout).toBe(true);
    expect(await closedWithin(other, BOUND_MS)).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });
});
