import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

const SET_ROLES = 'mutation ($id: ID!, $roles: [Role!]!) { setUserRoles(userId: $id, roles: $roles) { id username roles } }';
const USERS = 'query ($first: Int, $after: String) { users(first: $first, after: $after) { nodes { username } totalCount endCursor hasNextPage } }';

interface UsersPage {
  users: { nodes: Array<{ username: string }>; totalCount: number; endCursor: string | null; hasNextPage: boolean };
}

describe('roles and user administration', () => {
  let server: TestServer;
  let admin: AuthPayload;
  let user: AuthPayload;
  beforeAll(async () => {
    server = await startServer({ ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'admin password 1' });
    admin = await login(server, 'admin', 'admin password 1');
    user = await signup(server, 'paul');
  });
  afterAll(() => server.stop());

  it('lets an ADMIN read a user by id, and answers null for an unknown id', async () => {
    const res = await server.gql('query ($id: ID!) { user(id: $id) { username roles } }', { id: user.user.id }, { token: admin.accessToken });
    expect(res.body.data).toEqual({ user: { username: 'paul', roles: ['USER'] } });
    const none = await server.gql('{ user(id: "nope") { username } }', {}, { token: admin.accessToken });
    expect(none.body).toEqual({ data: { user: null } });
  });

  it('refuses admin fields to a USER with FORBIDDEN and to anonymous callers with UNAUTHENTICATED', async () => {
    expect(errorCode(await server.gql('{ users { totalCount } }', {}, { token: user.accessToken }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(`{ user(id: "${admin.user.id}") { username } }`, {}, { token: user.accessToken }))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql('{ users { totalCount } }'))).toBe('UNAUTHENTICATED');
  });

  it('a denied mutation writes nothing', async () => {
    const res = await server.gql(SET_ROLES, { id: user.user.id, roles: ['USER', 'ADMIN'] }, { token: user.accessToken });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect((await server.app.services.users.getUser(user.user.id))?.roles).toEqual(['USER']);
    const anonymous = await server.gql(SET_ROLES, { id: user.user.id, roles: ['USER', 'ADMIN'] });
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    expect((await server.app.services.users.getUser(user.user.id))?.roles).toEqual(['USER']);
  });

  it('setUserRoles takes effect on the user’s existing token from the next request, both ways', async () => {
    const granted = await server.gql(SET_ROLES, { id: user.user.id, roles: ['ADMIN', 'USER', 'ADMIN'] }, { token: admin.accessToken });
    expect(granted.body.data).toEqual({ setUserRoles: { id: user.user.id, username: 'paul', roles: ['USER', 'ADMIN'] } });
    const now = await server.gql<UsersPage>('{ users { totalCount } }', {}, { token: user.accessToken });
    expect(now.body.errors).toBeUndefined();
    expect((await server.gql('{ me { roles } }', {}, { token: user.accessToken })).body.data).toEqual({ me: { roles: ['USER', 'ADMIN'] } });

    await server.gql(SET_ROLES, { id: user.user.id, roles: ['USER'] }, { token: admin.accessToken });
    expect(errorCode(await server.gql('{ users { totalCount } }', {}, { token: user.accessToken }))).toBe('FORBIDDEN');
  });

  it('will not remove the last ADMIN, and names unknown users', async () => {
    const res = await server.gql(SET_ROLES, { id: admin.user.id, roles: ['USER'] }, { token: admin.accessToken });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.body.errors?.[0]?.extensions?.field).toBe('roles');
    const unknown = await server.gql(SET_ROLES, { id: 'no-such-user', roles: ['USER'] }, { token: admin.accessToken });
    expect(unknown.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userId' });
    const badRole = await server.gql(SET_ROLES, { id: user.user.id, roles: ['ROOT'] }, { token: admin.accessToken });
    expect(badRole.status).toBe(400);
    expect(errorCode(badRole)).toBe('BAD_USER_INPUT');
  });

  it('pages through users in signup order with cursors', async () => {
    for (const name of ['quinn1', 'quinn2', 'quinn3', 'quinn4']) await signup(server, name);
    const seen: string[] = [];
    let after: string | null = null;
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const res: Awaited<ReturnType<typeof server.gql<UsersPage>>> = await server.gql<UsersPage>(USERS, { first: 2, after }, { token: admin.accessToken });
      expect(res.body.errors).toBeUndefined();
      const page: UsersPage['users'] = res.body.data!.users;
      total = page.totalCount;
      seen.push(...page.nodes.map((n) => n.username));
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(total).toBe(6);
    expect(seen).toEqual(['admin', 'paul', 'quinn1', 'quinn2', 'quinn3', 'quinn4']);
  });

  it('checks first and after', async () => {
    for (const first of [0, 101, -1]) {
      const res = await server.gql(USERS, { first }, { token: admin.accessToken });
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
    const bad = await server.gql(USERS, { first: 5, after: 'garbage' }, { token: admin.accessToken });
    expect(bad.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const def = await server.gql<UsersPage>('{ users { nodes { username } } }', {}, { token: admin.accessToken });
    expect(def.body.data?.users.nodes.length).toBeGreaterThan(0);
  });
});
