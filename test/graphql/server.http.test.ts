import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../helpers/logs.js';
import { BACKEND } from '../helpers/backend.js';
import { errorCode, signup, startServer, type TestServer } from '../helpers/server.js';

describe('HTTP surface', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ BODY_LIMIT: '2048' });
  });
  afterAll(() => server.stop());

  it('serves /healthz, /readyz and an empty JWKS', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const checks = BACKEND === 'postgres' ? { database: 'ok', redis: 'ok' } : { database: 'ok' };
    expect(await ready.json()).toEqual({ status: 'ok', checks });
    const jwks = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(await jwks.json()).toEqual({ keys: [] });
  });

  it('serves the landing page on GET /graphql with Accept text/html outside production', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('<html');
  });

  it('answers unknown paths with 404 JSON', async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
  });

  it('refuses a body over the limit with 413 and invalid JSON with 400', async () => {
    const big = JSON.stringify({ query: `{ me { id } }`, variables: { pad: 'x'.repeat(4000) } });
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    const bad = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses a header block over 16 KB with 431', async () => {
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pad': 'x'.repeat(20_000) }, body: '{"query":"{ __typename }"}' });
    expect(res.status).toBe(431);
  });

  it('keeps Apollo’s CSRF prevention: a simple GET query without a preflight header is refused', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(res.status).toBe(400);
    const ok = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(ok.status).toBe(200);
  });

  it('keeps Apollo’s codes for parse and validation errors, and turns batching off', async () => {
    expect(errorCode(await server.gql('{ me { id '))).toBe('GRAPHQL_PARSE_FAILED');
    expect(errorCode(await server.gql('{ nothing }'))).toBe('GRAPHQL_VALIDATION_FAILED');
    const batch = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(batch.status).toBe(400);
  });

  it('echoes a request id, or makes one', async () => {
    const given = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await fetch(`${server.url}/healthz`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('permissions', () => {
  it('denies a field added to the schema without a directive, and follows the directive of one with', async () => {
    const extraSchema = {
      typeDefs: 'extend type Query { leak: String, hello: String @public } extend type User { passwordHash: String }',
      resolvers: { Query: { leak: () => 'secret!', hello: () => 'hi' }, User: { passwordHash: () => '$argon2id$...' } },
    };
    const server = await startServer({}, { deps: { extraSchema } });
    try {
      const pair = await signup(server, 'rita');
      const leak = await server.gql('{ leak }', {}, { token: pair.accessToken });
      expect(leak.body.data).toEqual({ leak: null });
      expect(errorCode(leak)).toBe('FORBIDDEN');
      const field = await server.gql('{ me { username passwordHash } }', {}, { token: pair.accessToken });
      expect(field.body.data).toEqual({ me: { username: 'rita', passwordHash: null } });
      expect(JSON.stringify(field.body)).not.toContain('argon2');
      const open = await server.gql('{ hello }');
      expect(open.body).toEqual({ data: { hello: 'hi' } });
    } finally {
      await server.stop();
    }
  });
});

describe('unexpected errors', () => {
  it('reach the client as INTERNAL_SERVER_ERROR with no detail, and the log with the stack', async () => {
    const { logger, lines } = capturingLogger();
    const server = await startServer({}, { deps: { logger } });
    try {
      const pair = await signup(server, 'sam');
      // Force a real failure under the services: a table disappears.
      await server.app.db.schema.dropTable('refresh_tokens').execute();
      const res = await server.gql(
        'mutation { login(username: "sam", password: "correct horse battery") { accessToken } }',
        {},
        { headers: { 'x-request-id': 'req-forced-failure' } },
      );
      expect(res.status).toBe(200);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors?.[0]).toEqual({
        message: 'Internal server error.',
        locations: [{ line: 1, column: 12 }],
        path: ['login'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      const text = JSON.stringify(res.body);
      for (const leak of ['refresh_tokens', 'insert', 'SQLITE', 'stack', '/src/', '.ts']) expect(text).not.toContain(leak);

      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'unexpected error');
      expect(logged?.requestId).toBe('req-forced-failure');
      expect(JSON.stringify(logged)).toContain('refresh_tokens');
      expect(JSON.stringify(logged)).toContain('stack');
      // Secrets never reach the log.
      const all = lines.join('\n');
      expect(all).not.toContain('correct horse battery');
      expect(all).not.toContain(pair.refreshToken);
      expect(all).not.toContain(pair.accessToken);
    } finally {
      await server.stop();
    }
  });

  it('readiness turns 503 when the database is gone', async () => {
    const server = await startServer();
    try {
      await server.app.db.destroy();
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(503);
      const checks = BACKEND === 'postgres' ? { database: 'down', redis: 'ok' } : { database: 'down' };
      expect(await res.json()).toEqual({ status: 'unavailable', checks });
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await server.app.stop().catch(() => undefined);
    }
  });
});
