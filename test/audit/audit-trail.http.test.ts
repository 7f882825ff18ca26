import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';
import { errorCode, login, signup, startServer, type TestServer } from '../helpers/server.js';

/*
 * The audit trail over HTTP (docs/api.md, "Audit"): what each change records,
 * who may read it, paging that stays stable while events arrive, refused
 * writes that record nothing, and pruning past AUDIT_RETENTION. Runs on
 * SQLite and on PostgreSQL + Redis.
 */

const EVENT_FIELDS = 'id type at userId actorId sessionId ip userAgent details';
const MY_EVENTS = `query ($first: Int, $after: String) { myAuditEvents(first: $first, after: $after) { nodes { ${EVENT_FIELDS} } endCursor hasNextPage } }`;
const ALL_EVENTS = `query ($first: Int, $after: String, $userId: ID, $type: String) {
  auditEvents(first: $first, after: $after, userId: $userId, type: $type) { nodes { ${EVENT_FIELDS} } endCursor hasNextPage } }`;
const AGENT = 'audit-test-agent/1.0';

interface AuditEventJson {
  id: string;
  type: string;
  at: string;
  userId: string | null;
  actorId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}
interface Page {
  nodes: AuditEventJson[];
  endCursor: string | null;
  hasNextPage: boolean;
}

describe('audit trail', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 6, 9, 0, 0));
  let server: TestServer;
  let admin: Awaited<ReturnType<typeof login>>;

  beforeAll(async () => {
    server = await startServer({ ADMIN_USERNAME: 'audit-admin', ADMIN_PASSWORD: 'admin password 1', AUDIT_RETENTION: '30d' }, { deps: { clock } });
    admin = await login(server, 'audit-admin', 'admin password 1');
  });
  afterAll(() => server.stop());

  const headers = { 'user-agent': AGENT };
  const mine = async (token: string, variables: Record<string, unknown> = {}) =>
    (await server.gql<{ myAuditEvents: Page }>(MY_EVENTS, variables, { token })).body.data!.myAuditEvents;
  const all = async (variables: Record<string, unknown>) => {
    const res = await server.gql<{ auditEvents: Page }>(ALL_EVENTS, variables, { token: admin.accessToken });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.auditEvents;
  };

  it('records sign-up, a failed and a good login and a logout, with who, where and why, newest first', async () => {
    const first = await signup(server, 'alice');
    clock.advance(1);
    await server.gql('mutation { login(username: "alice", password: "not the password") { accessToken } }', {}, { headers });
    clock.advance(1);
    const pair = (await server.gql<{ login: { accessToken: string } }>('mutation { login(username: "alice", password: "correct horse battery") { accessToken } }', {}, { headers }))
      .body.data!.login;
    clock.advance(1);
    await server.gql('mutation { logout }', {}, { token: pair.accessToken, headers });

    const { nodes } = await mine(first.accessToken);
    expect(nodes.map((e) => e.type)).toEqual(['session.ended', 'login.success', 'login.failure', 'user.created']);
    const [ended, success, failure, created] = nodes;
    const sid = decodeClaims(pair.accessToken).sid;
    expect(ended).toMatchObject({ userId: first.user.id, actorId: first.user.id, sessionId: sid, ip: '127.0.0.1', userAgent: AGENT, details: { reason: 'logout', sessionIds: [sid] } });
    expect(success).toMatchObject({ userId: first.user.id, sessionId: sid, ip: '127.0.0.1', userAgent: AGENT, details: { amr: ['pwd'] } });
    expect(failure).toMatchObject({ userId: first.user.id, sessionId: null, ip: '127.0.0.1', details: { method: 'password' } });
    expect(created).toMatchObject({ userId: first.user.id, sessionId: decodeClaims(first.accessToken).sid, details: { method: 'password', email: false } });
    expect(Date.parse(created!.at)).toBeLessThan(Date.parse(ended!.at));
  });

  it('records a role change with the admin as actor; auditEvents filters by user and type; only admins read it', async () => {
    const bob = await signup(server, 'bob');
    const res = await server.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { id } }', { id: bob.user.id }, { token: admin.accessToken, headers });
    expect(res.body.errors).toBeUndefined();

    const { nodes } = await all({ userId: bob.user.id, type: 'roles.changed' });
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ userId: bob.user.id, actorId: admin.user.id, sessionId: decodeClaims(admin.accessToken).sid, userAgent: AGENT, details: { from: ['USER'], to: ['USER', 'ADMIN'] } });
    // Bob sees his own events, the change made to him included; another user's filter is not his to set.
    expect((await mine(bob.accessToken)).nodes.map((e) => e.type)).toEqual(['roles.changed', 'user.created']);

    const carol = await signup(server, 'carol');
    const refused = await server.gql(ALL_EVENTS, {}, { token: carol.accessToken });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(MY_EVENTS, {}))).toBe('UNAUTHENTICATED');
  });

  it('a refused write records nothing: the event commits with the change or not at all', async () => {
    const before = await all({ type: 'roles.changed' });
    // Removing the last ADMIN is refused inside the door's transaction, after the check read the user.
    const lone = await startServer({ ADMIN_USERNAME: 'only-admin', ADMIN_PASSWORD: 'admin password 1' }, { deps: { clock } });
    try {
      const onlyAdmin = await login(lone, 'only-admin', 'admin password 1');
      const res = await lone.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER]) { id } }', { id: onlyAdmin.user.id }, { token: onlyAdmin.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'roles' });
      const rows = await lone.app.db.selectFrom('audit_events').select('type').where('type', '=', 'roles.changed').execute();
      expect(rows).toEqual([]);
    } finally {
      await lone.stop();
    }
    expect((await all({ type: 'roles.changed' })).nodes).toEqual(before.nodes);
  });

  it('pages newest first with a cursor that stays stable while new events arrive', async () => {
    const dave = await signup(server, 'dave');
    for (let i = 0; i < 5; i++) {
      await server.gql('mutation { login(username: "dave", password: "wrong password!") { accessToken } }');
      if (i % 2 === 0) clock.advance(1); // some events share a millisecond, some do not
    }
    const everything = (await all({ userId: dave.user.id, first: 50 })).nodes.map((e) => e.id);
    expect(everything).toHaveLength(6);

    const seen: string[] = [];
    let page = await all({ userId: dave.user.id, first: 2 });
    seen.push(...page.nodes.map((e) => e.id));
    // New events arrive between pages: they come before the first page, never inside a later one.
    await server.gql('mutation { login(username: "dave", password: "wrong password!") { accessToken } }');
    while (page.hasNextPage) {
      page = await all({ userId: dave.user.id, first: 2, after: page.endCursor });
      seen.push(...page.nodes.map((e) => e.id));
    }
    expect(seen).toEqual(everything);
    // Five failures locked the pair: recorded about the username, since a lock does not say whether the user exists.
    const [locked] = (await all({ type: 'login.locked' })).nodes;
    expect(locked).toMatchObject({ userId: null, ip: '127.0.0.1', details: { username: 'dave', lockSeconds: expect.any(Number) } });

    expect((await server.gql(ALL_EVENTS, { after: 'not-a-cursor' }, { token: admin.accessToken })).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    expect((await server.gql(ALL_EVENTS, { first: 0 }, { token: admin.accessToken })).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await server.gql(MY_EVENTS, { first: 201 }, { token: dave.accessToken })).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('prunes events older than AUDIT_RETENTION and keeps the rest', async () => {
    const erin = await signup(server, 'erin');
    clock.advance(29 * 86_400);
    await server.gql('mutation { login(username: "erin", password: "wrong password!") { accessToken } }');
    clock.advance(2 * 86_400); // the signup is now 31 days old, the failed login 2 days
    const removed = await server.app.pruner.runOnce();
    expect(removed.audit_events).toBeGreaterThan(0);
    admin = await login(server, 'audit-admin', 'admin password 1'); // a month went by
    const left = (await all({ userId: erin.user.id })).nodes.map((e) => e.type);
    expect(left).toEqual(['login.failure']);
  });
});
