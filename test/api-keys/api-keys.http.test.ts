import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOf, generateApiKey } from '../../src/api-keys/index.js';
import type { Db } from '../../src/db/database.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { QueryGate } from '../helpers/query-gate.js';
import { errorCode, login, signup, startServer, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';
import { connectWs, execute, subscribe } from '../helpers/ws.js';

/*
 * API keys over HTTP and WebSocket (docs/api.md, "API keys (personal access
 * tokens)"), with an injected clock for expiry and lastUsedAt, and a query
 * log (QueryGate) on the database handle to prove which checks read it.
 * Runs on SQLite and on PostgreSQL + Redis (vitest projects).
 */

const CREATE = 'mutation ($n: String!, $s: [ApiScope!]!, $e: Int) { createApiKey(name: $n, scopes: $s, expiresIn: $e) { key apiKey { id name prefix scopes createdAt lastUsedAt expiresAt } } }';
const MY_KEYS = '{ myApiKeys { id name prefix scopes createdAt lastUsedAt expiresAt } }';
const REVOKE = 'mutation ($id: ID!) { revokeApiKey(id: $id) }';
const REVOKE_ALL = 'mutation ($u: ID!) { revokeUserApiKeys(userId: $u) }';
const ME = '{ me { id username } }';

interface Created {
  key: string;
  apiKey: { id: string; name: string; prefix: string; scopes: string[]; createdAt: string; lastUsedAt: string | null; expiresAt: string | null };
}

describe('API keys', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
  const gate = new QueryGate();
  const { logger, lines } = capturingLogger();
  let server: TestServer;
  let admin: AuthPayload;
  const keys: string[] = [];

  beforeAll(async () => {
    server = await startServer(
      { ADMIN_USERNAME: 'key-admin', ADMIN_PASSWORD: 'admin password 1', API_KEY_RATE_LIMIT: '5/1m', AUTH_TRACE: 'true' },
      { deps: { clock, logger, wrapDb: (db: Db) => db.withPlugin(gate) } },
    );
    admin = await login(server, 'key-admin', 'admin password 1');
  });
  afterAll(() => server.stop());

  async function create(token: string, scopes: string[], options: { name?: string; expiresIn?: number } = {}): Promise<Created> {
    const res = await server.gql<{ createApiKey: Created }>(CREATE, { n: options.name ?? 'script', s: scopes, e: options.expiresIn ?? null }, { token });
    if (!res.body.data?.createApiKey) throw new Error(`createApiKey failed: ${JSON.stringify(res.body.errors)}`);
    keys.push(res.body.data.createApiKey.key);
    return res.body.data.createApiKey;
  }

  const reason = (res: GqlResponse) => res.body.errors?.[0]?.extensions?.reason;

  it('creates a key shown once: the list shows its prefix, never the key', async () => {
    const alice = await signup(server, 'alice-keys');
    const created = await create(alice.accessToken, ['PROFILE'], { name: '  deploy bot  ', expiresIn: 86_400 });
    expect(created.key).toMatch(/^tg_pat_[0-9A-Za-z]{36}$/);
    expect(created.apiKey).toMatchObject({ name: 'deploy bot', prefix: created.key.slice(0, 11), scopes: ['PROFILE'], lastUsedAt: null });
    expect(Date.parse(created.apiKey.expiresAt!)).toBe(clock.now() + 86_400_000);
    const listed = await server.gql<{ myApiKeys: Created['apiKey'][] }>(MY_KEYS, {}, { token: alice.accessToken });
    expect(listed.body.data?.myApiKeys).toEqual([created.apiKey]);
    expect(JSON.stringify(listed.body)).not.toContain(created.key.slice(11));
    const stored = await server.app.db.selectFrom('credentials').selectAll().where('id', '=', created.apiKey.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(created.key.slice(11));
    expect(stored).toMatchObject({ kind: 'api_key', name: 'deploy bot' });
  });

  it('needs a fresh token to create, and refuses expiresIn outside 1 hour .. 1 year', async () => {
    const bob = await signup(server, 'bob-keys');
    const refreshed = await server.gql<{ refreshToken: AuthPayload }>('mutation ($t: String) { refreshToken(refreshToken: $t) { accessToken } }', { t: bob.refreshToken });
    const stale = await server.gql(CREATE, { n: 'x', s: ['PROFILE'] }, { token: refreshed.body.data!.refreshToken.accessToken });
    expect(errorCode(stale)).toBe('FRESH_TOKEN_REQUIRED');
    for (const expiresIn of [3_599, 365 * 86_400 + 1, 0, -5]) {
      const res = await server.gql(CREATE, { n: 'x', s: ['PROFILE'], e: expiresIn }, { token: bob.accessToken });
      expect(res.body.errors?.[0]?.extensions, String(expiresIn)).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresIn' });
    }
    await create(bob.accessToken, ['PROFILE'], { expiresIn: 3_600 });
    await create(bob.accessToken, ['PROFILE'], { expiresIn: 365 * 86_400 });
    expect(errorCode(await server.gql(CREATE, { n: 'x', s: [] }, { token: bob.accessToken }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE, { n: ' ', s: ['PROFILE'] }, { token: bob.accessToken }))).toBe('BAD_USER_INPUT');
    // The ADMIN scopes need an ADMIN.
    expect(errorCode(await server.gql(CREATE, { n: 'x', s: ['ADMIN_READ'] }, { token: bob.accessToken }))).toBe('FORBIDDEN');
  });

  it('reaches only fields of its scopes; everything else, fresh-token mutations included, refuses it with FORBIDDEN / API_KEY', async () => {
    const carol = await signup(server, 'carol-keys');
    const { key } = await create(carol.accessToken, ['PROFILE']);
    const me = await server.gql<{ me: { username: string } }>(ME, {}, { token: key });
    expect(me.body.data?.me.username).toBe('carol-keys');
    expect((await server.gql<{ protected: { loggedInAs: string } }>('{ protected { loggedInAs } }', {}, { token: key })).body.data?.protected.loggedInAs).toBe('carol-keys');
    const refused = [
      '{ mySessions { id } }',
      '{ myApiKeys { id } }',
      'mutation { logout }',
      'mutation { logoutAll }',
      'mutation { changePassword(currentPassword: "correct horse battery", newPassword: "another good password") { accessToken } }',
      'mutation { createApiKey(name: "more", scopes: [PROFILE]) { key } }',
      'mutation { enrollTotp { secret } }',
      'mutation { login(username: "carol-keys", password: "correct horse battery") { accessToken } }',
      '{ users { totalCount } }',
    ];
    for (const query of refused) {
      const res = await server.gql(query, {}, { token: key });
      expect(res.body.errors?.[0]?.extensions, query).toEqual({ code: 'FORBIDDEN', reason: 'API_KEY' });
    }
    // The access token of the same user is not affected.
    expect((await server.gql('{ mySessions { id } }', {}, { token: carol.accessToken })).body.errors).toBeUndefined();
  });

  it('acts with the ADMIN scopes only while its owner is ADMIN, checked on every request', async () => {
    const dave = await signup(server, 'dave-keys');
    await server.gql('mutation ($u: ID!) { setUserRoles(userId: $u, roles: [USER, ADMIN]) { id } }', { u: dave.user.id }, { token: admin.accessToken });
    const fresh = await login(server, 'dave-keys');
    const { key } = await create(fresh.accessToken, ['ADMIN_READ']);
    expect((await server.gql<{ users: { totalCount: number } }>('{ users { totalCount } }', {}, { token: key })).body.data?.users.totalCount).toBeGreaterThan(1);
    expect((await server.gql(ME, {}, { token: key })).body.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'API_KEY' });
    expect(errorCode(await server.gql('mutation ($u: ID!) { setUserRoles(userId: $u, roles: [USER]) { id } }', { u: dave.user.id }, { token: key }))).toBe('FORBIDDEN');
    await server.gql('mutation ($u: ID!) { setUserRoles(userId: $u, roles: [USER]) { id } }', { u: dave.user.id }, { token: admin.accessToken });
    const demoted = await server.gql('{ users { totalCount } }', {}, { token: key });
    expect(errorCode(demoted)).toBe('FORBIDDEN');
    expect(reason(demoted)).toBeUndefined();
  });

  it('refuses unknown and malformed keys as INVALID_TOKEN, and a bad checksum without reading the database', async () => {
    const erin = await signup(server, 'erin-keys');
    const { key } = await create(erin.accessToken, ['PROFILE']);
    const body = key.slice(7, 37);
    const badChecksum = `tg_pat_${body}${checksumOf(body) === '000000' ? '000001' : '000000'}`;
    const before = gate.log.length;
    const bad = await server.gql(ME, {}, { token: badChecksum });
    expect(bad.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    expect(gate.log.slice(before)).toEqual([]);
    // A well-formed key nobody holds is looked up (so the count above can see a lookup when there is one).
    const unknown = await server.gql(ME, {}, { token: generateApiKey() });
    expect(reason(unknown)).toBe('INVALID_TOKEN');
    expect(gate.log.slice(before).map((q) => q.label)).toContain('select:credentials');
    for (const malformed of ['tg_pat_short', `${key}x`, `tg_pat_${'-'.repeat(36)}`]) {
      expect(reason(await server.gql(ME, {}, { token: malformed })), malformed).toBe('INVALID_TOKEN');
    }
  });

  it('checks a key without a database read in the steady state', async () => {
    const fay = await signup(server, 'fay-keys');
    const { key } = await create(fay.accessToken, ['PROFILE']);
    await server.gql(ME, {}, { token: key }); // the first use reads the key
    const before = gate.log.length;
    for (let i = 0; i < 3; i++) expect((await server.gql(ME, {}, { token: key })).body.errors).toBeUndefined();
    expect(gate.log.slice(before)).toEqual([]);
  });

  it('revokes its owner’s own key at once (TOKEN_REVOKED), answers false for unknown and others’ keys, and audits both ends', async () => {
    const gus = await signup(server, 'gus-keys');
    const hal = await signup(server, 'hal-keys');
    const { key, apiKey } = await create(gus.accessToken, ['PROFILE']);
    expect((await server.gql(ME, {}, { token: key })).body.errors).toBeUndefined();
    expect((await server.gql<{ revokeApiKey: boolean }>(REVOKE, { id: apiKey.id }, { token: hal.accessToken })).body.data?.revokeApiKey).toBe(false);
    expect((await server.gql<{ revokeApiKey: boolean }>(REVOKE, { id: '00000000-0000-0000-0000-000000000000' }, { token: gus.accessToken })).body.data?.revokeApiKey).toBe(false);
    expect((await server.gql(ME, {}, { token: key })).body.errors).toBeUndefined();
    expect((await server.gql<{ revokeApiKey: boolean }>(REVOKE, { id: apiKey.id }, { token: gus.accessToken })).body.data?.revokeApiKey).toBe(true);
    expect((await server.gql(ME, {}, { token: key })).body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    expect((await server.gql<{ revokeApiKey: boolean }>(REVOKE, { id: apiKey.id }, { token: gus.accessToken })).body.data?.revokeApiKey).toBe(false);
    expect((await server.gql<{ myApiKeys: unknown[] }>(MY_KEYS, {}, { token: gus.accessToken })).body.data?.myApiKeys).toEqual([]);
    const events = await server.app.db.selectFrom('audit_events').select(['type', 'user_id', 'actor_id', 'details']).where('user_id', '=', gus.user.id).orderBy('seq').execute();
    expect(events.filter((e) => e.type.startsWith('apikey.')).map((e) => [e.type, JSON.parse(e.details!).keyId])).toEqual([
      ['apikey.created', apiKey.id],
      ['apikey.revoked', apiKey.id],
    ]);
    expect(JSON.stringify(events)).not.toContain(key.slice(11));
  });

  it('lets an ADMIN revoke every key of a user (a count), with a key of scope ADMIN_WRITE too', async () => {
    const ivy = await signup(server, 'ivy-keys');
    const first = await create(ivy.accessToken, ['PROFILE']);
    await create(ivy.accessToken, ['SESSIONS']);
    const adminKey = await create(admin.accessToken, ['ADMIN_WRITE']);
    expect(errorCode(await server.gql(REVOKE_ALL, { u: ivy.user.id }, { token: ivy.accessToken }))).toBe('FORBIDDEN');
    expect((await server.gql<{ revokeUserApiKeys: number }>(REVOKE_ALL, { u: ivy.user.id }, { token: adminKey.key })).body.data?.revokeUserApiKeys).toBe(2);
    expect(reason(await server.gql(ME, {}, { token: first.key }))).toBe('TOKEN_REVOKED');
    expect((await server.gql<{ revokeUserApiKeys: number }>(REVOKE_ALL, { u: ivy.user.id }, { token: admin.accessToken })).body.data?.revokeUserApiKeys).toBe(0);
  });

  it('expires: TOKEN_EXPIRED once expiresAt passed', async () => {
    const jay = await signup(server, 'jay-keys');
    const { key } = await create(jay.accessToken, ['PROFILE'], { expiresIn: 3_600 });
    expect((await server.gql(ME, {}, { token: key })).body.errors).toBeUndefined();
    clock.advance(3_600);
    expect(reason(await server.gql(ME, {}, { token: key }))).toBe('TOKEN_EXPIRED');
  });

  it('keeps lastUsedAt to the minute, written in batches, and rate-limits each key with RATE_LIMITED and retryAfter', async () => {
    const kim = await login(server, 'key-admin', 'admin password 1'); // the clock moved: a new fresh token
    const { key, apiKey } = await create(kim.accessToken, ['PROFILE']);
    const other = await create(kim.accessToken, ['PROFILE']);
    clock.advance(90); // 09:.. + 30 s into a minute
    const writesBefore = gate.log.filter((q) => q.label === 'update:credentials').length;
    for (let i = 0; i < 5; i++) expect((await server.gql(ME, {}, { token: key })).body.errors).toBeUndefined();
    expect(gate.log.filter((q) => q.label === 'update:credentials').length).toBe(writesBefore); // no write per request
    const limited = await server.gql(ME, {}, { token: key });
    expect(limited.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(limited.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    // Another key of the same user has a budget of its own.
    expect((await server.gql(ME, {}, { token: other.key })).body.errors).toBeUndefined();
    await server.app.services.apiKeys.flush();
    const listed = await server.gql<{ myApiKeys: Created['apiKey'][] }>(MY_KEYS, {}, { token: kim.accessToken });
    const used = listed.body.data!.myApiKeys.find((k) => k.id === apiKey.id)!;
    expect(used.lastUsedAt).toBe(new Date(Math.floor(clock.now() / 60_000) * 60_000).toISOString());
  });

  it('counts requests by outcome in tokengate_api_key_requests_total', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const outcome of ['ok', 'invalid', 'revoked', 'expired', 'rate_limited']) {
      const line = text.split('\n').find((l) => l.startsWith(`tokengate_api_key_requests_total{outcome="${outcome}"}`));
      expect(Number(line?.split(' ')[1]), outcome).toBeGreaterThan(0);
    }
  });

  it('works over WebSocket: connection_init with the key, its scopes per operation, and a revocation closes the socket with 4403 TOKEN_REVOKED', async () => {
    const lou = await login(server, 'key-admin', 'admin password 1');
    const { key, apiKey } = await create(lou.accessToken, ['SESSIONS']);
    const ws = connectWs(server.url, { token: key });
    await ws.connected;
    const events = subscribe(ws.client, 'subscription { sessionEvents { kind } }');
    await login(server, 'key-admin', 'admin password 1'); // a session started: the subscription hears it
    expect((await events.next()).data).toEqual({ sessionEvents: { kind: 'CREATED' } });
    const profile = connectWs(server.url, { token: key });
    await profile.connected;
    const me = await execute(profile.client, '{ me { id } }');
    expect(me.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', reason: 'API_KEY' });
    expect((me.extensions as { authTrace?: unknown } | undefined)?.authTrace).toEqual([{ path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: false, reason: 'API_KEY' }]);
    await profile.dispose();
    expect((await server.gql<{ revokeApiKey: boolean }>(REVOKE, { id: apiKey.id }, { token: lou.accessToken })).body.data?.revokeApiKey).toBe(true);
    expect(await ws.closed).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
    const again = connectWs(server.url, { token: key });
    expect(await again.closed).toMatchObject({ code: 4403, reason: 'TOKEN_REVOKED' });
  });

  it('never logs a key', () => {
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    for (const key of keys) expect(text).not.toContain(key.slice(11));
  });
});
