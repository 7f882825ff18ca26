import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startServer, type TestServer } from '../helpers/server.js';

describe('GraphQL query limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH (10)', async () => {
    // Our schema is shallow, so depth can only come from nonsense; the depth rule names it.
    const deep = '{ me { a { b { c { d { e { f { g { h { i { j { k } } } } } } } } } } } }';
    const res = await server.gql(deep);
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors?.[0]?.message).toMatch(/depth limit of 10 exceeded/i);
    const nine = '{ me { a { b { c { d { e { f { g { h } } } } } } } } }';
    expect((await server.gql(nine)).body.errors?.some((e) => /depth/.test(e.message))).toBe(false);
  });

  it('refuses a document of more than GRAPHQL_MAX_TOKENS (1000) tokens at parse time', async () => {
    const huge = `{ ${Array.from({ length: 1200 }, () => '__typename').join(' ')} }`;
    const res = await server.gql(huge);
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_PARSE_FAILED');
    expect(res.body.errors?.[0]?.message).toMatch(/tokens/i);
  });

  it('refuses more than GRAPHQL_MAX_ALIASES (15) aliases', async () => {
    const aliases = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const refused = await server.gql(aliases);
    expect(errorCode(refused)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(refused.body.errors?.[0]?.message).toMatch(/aliases limit/i);
    const fine = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect(errorCode(await server.gql(fine))).toBe('UNAUTHENTICATED'); // ran: only the missing token stops it
  });
});

describe('a low cost limit', () => {
  it('refuses a query over GRAPHQL_MAX_COST', async () => {
    const server = await startServer({ GRAPHQL_MAX_COST: '20' });
    try {
      const res = await server.gql('{ users(first: 100) { nodes { id username roles createdAt } totalCount endCursor hasNextPage } me { id username roles createdAt } mySessions { id createdAt lastUsedAt expiresAt userAgent current } }');
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.body.errors?.[0]?.message).toMatch(/cost/i);
    } finally {
      await server.stop();
    }
  });
});

describe('introspection and suggestions off', () => {
  it('hides the schema when INTROSPECTION=false (the production default)', async () => {
    const server = await startServer({ INTROSPECTION: 'false' });
    try {
      const intro = await server.gql('{ __schema { types { name } } }');
      expect(errorCode(intro)).toBe('GRAPHQL_VALIDATION_FAILED');
      const typo = await server.gql('{ mee { id } }');
      expect(errorCode(typo)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(typo.body)).not.toContain('Did you mean');
    } finally {
      await server.stop();
    }
  });

  it('keeps suggestions while exploring outside production', async () => {
    const server = await startServer();
    try {
      expect(JSON.stringify((await server.gql('{ mee { id } }')).body)).toContain('Did you mean');
    } finally {
      await server.stop();
    }
  });
});
