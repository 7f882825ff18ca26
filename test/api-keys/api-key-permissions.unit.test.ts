import { graphql, parse, subscribe, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { requirements } from '../../src/graphql/generated/requirements.js';
import { deriveRuleMap, rules } from '../../src/graphql/permissions.js';
import { buildSchema } from '../../src/graphql/schema.js';
import type { ApiScope } from '../../src/sessions/index.js';
import type { User } from '../../src/users/user.js';

/*
 * How the SDL's @apiKey declarations become the API key layer and the
 * requirements clients read (docs/guides/api-keys.md, "Scopes"), on the
 * schema alone: contexts are built by hand, as permissions.unit does.
 */

const alice: User = { id: 'u-alice', username: 'alice', roles: ['USER'], createdAt: new Date(0), email: null, emailVerified: false };
const admin: User = { ...alice, id: 'u-admin', username: 'root', roles: ['USER', 'ADMIN'] };

function context(user: User, key: { scopes: ApiScope[]; retryAfter?: number } | null, fresh = false): GraphQLContext {
  return {
    viewer: { user, sessionId: key ? 'apikey:k-1' : 's-1', fresh, tokenExpiresAt: Number.MAX_SAFE_INTEGER, ...(key ? { apiKey: { id: 'k-1', scopes: key.scopes, retryAfter: key.retryAfter ?? null } } : {}) },
    authFailure: null,
    authUnavailable: null,
    signupEnabled: true,
  } as unknown as GraphQLContext;
}

async function extensionsOf(schema: GraphQLSchema, source: string, ctx: GraphQLContext) {
  const result = await graphql({ schema, source, contextValue: ctx });
  return Object.fromEntries((result.errors ?? []).map((e) => [e.path?.join('.') ?? '', { code: (e.originalError as { code?: string }).code, ...(e.originalError as { extras?: object }).extras }]));
}

describe('API key scopes in the SDL', () => {
  it('are, as generated into the requirements module, the contract’s table', () => {
    const table: Record<string, string[]> = {};
    for (const [root, fields] of Object.entries(requirements)) {
      for (const [field, needs] of Object.entries(fields)) if ('apiKey' in needs) (table[needs.apiKey] ??= []).push(`${root}.${field}`);
    }
    for (const fields of Object.values(table)) fields.sort();
    expect(table).toEqual({
      PROFILE: ['Query.me', 'Query.protected'],
      SESSIONS: ['Mutation.revokeSession', 'Query.mySessions', 'Subscription.sessionEvents'],
      ADMIN_READ: ['Query.user', 'Query.users'],
      ADMIN_WRITE: ['Mutation.resetUserMfa', 'Mutation.revokeUserApiKeys', 'Mutation.setUserRoles'],
    });
  });

  it('leave the rules for everyone else as they were, and give the API keys fields their own', () => {
    const map = deriveRuleMap(buildSchema());
    expect(map.Query?.me).toBe(rules.isSignedIn);
    expect(map.Query?.users).toBe(rules.hasRole('ADMIN'));
    expect(map.Query?.myApiKeys).toBe(rules.isSignedIn);
    expect(map.Mutation?.createApiKey).toBe(rules.hasFreshToken);
    expect(map.Mutation?.revokeApiKey).toBe(rules.isSignedIn);
    expect(map.Mutation?.revokeUserApiKeys).toBe(rules.hasRole('ADMIN'));
    expect(map.ApiKey?.prefix).toBe(rules.allow);
    expect(map.NewApiKey?.key).toBe(rules.allow);
  });

  it('let a key reach a field only with its scope; deny by default, public fields included', async () => {
    const schema = buildSchema({
      typeDefs: 'extend type Query { open: String @public, scoped: String @signedIn @apiKey(scope: PROFILE), plain: String @signedIn }',
      resolvers: { Query: { open: () => 'o', scoped: () => 's', plain: () => 'p' } },
    });
    const key = context(alice, { scopes: ['PROFILE'] });
    expect(await extensionsOf(schema, '{ scoped }', key)).toEqual({});
    expect(await extensionsOf(schema, '{ open plain }', key)).toEqual({ open: { code: 'FORBIDDEN', reason: 'API_KEY' }, plain: { code: 'FORBIDDEN', reason: 'API_KEY' } });
    expect(await extensionsOf(schema, '{ scoped }', context(alice, { scopes: ['SESSIONS'] }))).toEqual({ scoped: { code: 'FORBIDDEN', reason: 'API_KEY' } });
    // An access token is not affected.
    expect(await extensionsOf(schema, '{ open plain scoped }', context(alice, null))).toEqual({});
    // Over its rate limit: RATE_LIMITED with retryAfter on the fields it may reach.
    expect(await extensionsOf(schema, '{ scoped }', context(alice, { scopes: ['PROFILE'], retryAfter: 12 }))).toEqual({ scoped: { code: 'RATE_LIMITED', retryAfter: 12 } });
  });

  it('act with the ADMIN scopes only for an ADMIN, and never on a fresh-token field', async () => {
    const schema = buildSchema();
    expect(await extensionsOf(schema, '{ users { totalCount } }', context(alice, { scopes: ['ADMIN_READ'] }))).toEqual({ users: { code: 'FORBIDDEN' } });
    expect(await extensionsOf(schema, 'mutation { changePassword(currentPassword: "a", newPassword: "b") { accessToken } }', context(admin, { scopes: ['PROFILE', 'SESSIONS', 'ADMIN_READ', 'ADMIN_WRITE'] }, true))).toEqual({
      changePassword: { code: 'FORBIDDEN', reason: 'API_KEY' },
    });
  });

  it('hold subscriptions to their scope too, at subscribe time', async () => {
    const schema = buildSchema({
      typeDefs: 'extend type Subscription { ticks: String @signedIn @apiKey(scope: SESSIONS) }',
      resolvers: {
        Subscription: {
          ticks: {
            subscribe: async function* () {
              yield { ticks: 'tick' };
            },
          },
        },
      },
    });
    const document = parse('subscription { ticks }');
    const refused = await subscribe({ schema, document, contextValue: context(alice, { scopes: ['PROFILE'] }) });
    expect(Symbol.asyncIterator in refused).toBe(false);
    expect((refused as { errors?: { originalError?: { extras?: unknown } }[] }).errors?.[0]?.originalError?.extras).toEqual({ reason: 'API_KEY' });
    const allowed = await subscribe({ schema, document, contextValue: context(alice, { scopes: ['SESSIONS'] }) });
    expect(Symbol.asyncIterator in allowed).toBe(true);
    expect((await (allowed as AsyncIterableIterator<unknown>).next()).value).toEqual({ data: { ticks: 'tick' } });
  });

  it.each([
    ['@apiKey alone', 'extend type Query { x: String @apiKey(scope: PROFILE) }', /Query\.x: @apiKey admits keys only/],
    ['@apiKey with @freshToken', 'extend type Mutation { x: String @freshToken @apiKey(scope: PROFILE) }', /Mutation\.x: @apiKey cannot go with @freshToken/],
    ['@apiKey below the root', 'extend type User { x: String @self @apiKey(scope: PROFILE) }', /User\.x: @apiKey applies only to fields of Query, Mutation, Subscription/],
    ['an unknown scope', 'extend type Query { x: String @signedIn @apiKey(scope: EVERYTHING) }', /EVERYTHING/],
  ])('refuse to start on %s', (_what, typeDefs, message) => {
    expect(() => buildSchema({ typeDefs, resolvers: {} })).toThrow(message);
  });
});
