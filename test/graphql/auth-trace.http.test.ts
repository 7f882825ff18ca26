import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPermissions } from '../../src/graphql/permissions.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { signup, startServer, type TestServer } from '../helpers/server.js';

/*
 * The authorization trace (docs/api.md, "Authorization trace"): on by default
 * outside production, off in production unless AUTH_TRACE=true, and when off
 * not installed at all.
 */

interface Entry {
  path: string;
  rule: string;
  allowed: boolean;
  reason: string | null;
}
const byPath = (entries: unknown) => [...(entries as Entry[])].sort((a, b) => a.path.localeCompare(b.path));

describe('the authorization trace', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ AUTH_TRACE: 'true' });
  });
  afterAll(() => server.stop());

  it('names the directives that decided each field, with the refusal’s reason', async () => {
    const pair = await signup(server, 'tracer');
    // `user` is nullable: its refusal leaves the other fields to finish (a non-null root field's refusal ends the answer at once).
    const res = await server.gql('{ me { username email } user(id: "someone") { id } mySessions { id current } }', {}, { token: pair.accessToken });
    expect(byPath(res.body.extensions?.authTrace)).toEqual([
      { path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: true, reason: null },
      { path: 'me.email', rule: '@self', allowed: true, reason: null },
      { path: 'mySessions', rule: '@signedIn @apiKey(scope: SESSIONS)', allowed: true, reason: null },
      { path: 'user', rule: '@hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ)', allowed: false, reason: 'FORBIDDEN' },
    ]);
    // @public fields (username, Session.*) are decided by no rule: they carry no entry.
    const anonymous = await server.gql('{ me { id } }');
    expect(anonymous.body.extensions?.authTrace).toEqual([{ path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: false, reason: 'MISSING_TOKEN' }]);
    const login = await server.gql('mutation { login(username: "tracer", password: "wrong password here") { accessToken } }');
    expect(login.body.extensions?.authTrace).toEqual([{ path: 'login', rule: '@public', allowed: true, reason: null }]);
  });

  it('traces a key’s refusal as API_KEY', async () => {
    const pair = await signup(server, 'tracer-key');
    const created = await server.gql<{ createApiKey: { key: string } }>('mutation { createApiKey(name: "t", scopes: [SESSIONS]) { key } }', {}, { token: pair.accessToken });
    const key = created.body.data!.createApiKey.key;
    const res = await server.gql('{ user(id: "someone") { id } mySessions { id } }', {}, { token: key });
    expect(byPath(res.body.extensions?.authTrace)).toEqual([
      { path: 'mySessions', rule: '@signedIn @apiKey(scope: SESSIONS)', allowed: true, reason: null },
      { path: 'user', rule: '@hasRole(role: ADMIN) @apiKey(scope: ADMIN_READ)', allowed: false, reason: 'API_KEY' },
    ]);
  });

  it('is on by default outside production', async () => {
    const development = await startServer({ NODE_ENV: 'development', AUTH_TRACE: '' });
    try {
      expect(development.config.authTrace).toBe(true);
      expect((await development.gql('{ me { id } }')).body.extensions?.authTrace).toHaveLength(1);
    } finally {
      await development.stop();
    }
  });

  it('is off in production (no extension), unless AUTH_TRACE=true', async () => {
    const production = await startServer({ NODE_ENV: 'production', EXPLORER: 'off', AUTH_TRACE: '' });
    try {
      const pair = await signup(production, 'prod-user');
      const res = await production.gql('{ me { id } users { totalCount } }', {}, { token: pair.accessToken });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(res.body.extensions).toBeUndefined();
    } finally {
      await production.stop();
    }
    const forced = await startServer({ NODE_ENV: 'production', EXPLORER: 'off', AUTH_TRACE: 'true' });
    try {
      const res = await forced.gql('{ me { id } }');
      expect(res.body.extensions?.authTrace).toEqual([{ path: 'me', rule: '@signedIn @apiKey(scope: PROFILE)', allowed: false, reason: 'MISSING_TOKEN' }]);
    } finally {
      await forced.stop();
    }
  });

  it('installs no layer of its own when off', () => {
    const schema = buildSchema();
    expect(createPermissions(schema)).toHaveLength(2); // the API key layer, shield
    expect(createPermissions(schema, { trace: false })).toHaveLength(2);
    expect(createPermissions(schema, { trace: true })).toHaveLength(4); // + the trace's outer and inner layers
  });
});
