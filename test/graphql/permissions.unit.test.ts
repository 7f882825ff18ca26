import { describe, it, expect } from 'vitest';
import { getIntrospectionQuery, graphql, type GraphQLSchema } from 'graphql';
import { buildSchema, loadTypeDefs } from '../../src/graphql/schema.js';
import { createPermissions, deriveRequirements, deriveRuleMap, rules } from '../../src/graphql/permissions.js';
import { requirements as generated } from '../../src/graphql/generated/requirements.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import type { Role, User } from '../../src/users/user.js';

/** The rules by the names today's decisions use, so a mismatch prints readably. */
const named = new Map<unknown, string>([
  [rules.allow, 'allow'],
  [rules.isSignedIn, 'isSignedIn'],
  [rules.hasRole('ADMIN'), 'isAdmin'],
  [rules.hasRole('USER'), 'hasRole:USER'],
  [rules.hasFreshToken, 'hasFreshToken'],
  [rules.isSelfOrAdmin, 'isSelfOrAdmin'],
  [rules.signupIsOpen, 'signupIsOpen'],
]);

function decisions(schema: GraphQLSchema): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.entries(deriveRuleMap(schema)).map(([type, fields]) => [
      type,
      Object.fromEntries(Object.entries(fields).map(([field, rule]) => [field, named.get(rule) ?? `unnamed ${rule.constructor.name}`])),
    ]),
  );
}

/** The hand-written rule map this branch replaced, field by field. */
const RULE_MAP_BEFORE = {
  Query: { me: 'isSignedIn', protected: 'isSignedIn', mySessions: 'isSignedIn', user: 'isAdmin', users: 'isAdmin' },
  Mutation: {
    signup: 'signupIsOpen',
    login: 'allow',
    refreshToken: 'allow',
    logout: 'isSignedIn',
    logoutAll: 'isSignedIn',
    revokeSession: 'isSignedIn',
    changePassword: 'hasFreshToken',
    setUserRoles: 'isAdmin',
    setEmail: 'hasFreshToken',
    requestEmailVerification: 'isSignedIn',
    verifyEmail: 'allow',
    requestPasswordReset: 'allow',
    resetPassword: 'allow',
    enrollTotp: 'hasFreshToken',
    confirmTotp: 'hasFreshToken',
    disableTotp: 'hasFreshToken',
    verifyMfa: 'allow',
    resetUserMfa: 'isAdmin',
    // Passkeys (schema/passkeys.graphql).
    startPasskeyRegistration: 'hasFreshToken',
    finishPasskeyRegistration: 'hasFreshToken',
    renamePasskey: 'isSignedIn',
    deletePasskey: 'hasFreshToken',
    startPasskeyLogin: 'allow',
    finishPasskeyLogin: 'allow',
  },
  AuthPayload: { accessToken: 'allow', refreshToken: 'allow', tokenType: 'allow', expiresIn: 'allow', user: 'allow' },
  User: { id: 'allow', username: 'allow', roles: 'allow', createdAt: 'allow', email: 'isSelfOrAdmin', emailVerified: 'isSelfOrAdmin', mfaEnabled: 'isSelfOrAdmin', passkeys: 'isSelfOrAdmin' },
  Passkey: { id: 'allow', name: 'allow', createdAt: 'allow', lastUsedAt: 'allow', backedUp: 'allow', transports: 'allow' },
  TotpEnrollment: { secret: 'allow', otpauthUrl: 'allow' },
  UserConnection: { nodes: 'allow', totalCount: 'allow', endCursor: 'allow', hasNextPage: 'allow' },
  Session: { id: 'allow', createdAt: 'allow', lastUsedAt: 'allow', expiresAt: 'allow', userAgent: 'allow', current: 'allow' },
  Protected: { loggedInAs: 'allow' },
  Subscription: { sessionEvents: 'isSignedIn' },
  SessionEvent: { kind: 'allow', session: 'allow' },
};

const alice: User = { id: 'u-alice', username: 'alice', roles: ['USER'], createdAt: new Date('2026-01-01T00:00:00Z'), email: null, emailVerified: false };
const bob: User = { id: 'u-bob', username: 'bob', roles: ['USER'], createdAt: new Date('2026-01-02T00:00:00Z'), email: null, emailVerified: false };
const admin: User = { id: 'u-admin', username: 'root', roles: ['USER', 'ADMIN'], createdAt: new Date('2026-01-03T00:00:00Z'), email: null, emailVerified: false };

/** A context as the builder makes it, without the services (the resolvers under test need none). */
function context(viewer: { user: User; fresh?: boolean } | null, signupEnabled = true): GraphQLContext {
  return {
    viewer: viewer === null ? null : { user: viewer.user, sessionId: 's-1', fresh: viewer.fresh ?? false },
    authFailure: null,
    authUnavailable: null,
    signupEnabled,
  } as unknown as GraphQLContext;
}

/** Runs a query; returns data and the codes of the errors by path. */
async function run(schema: GraphQLSchema, source: string, ctx: GraphQLContext) {
  const result = await graphql({ schema, source, contextValue: ctx });
  const codes = Object.fromEntries(
    (result.errors ?? []).map((e) => [e.path?.join('.') ?? '', (e.originalError as { code?: string } | undefined)?.code ?? e.message]),
  );
  return { data: result.data as Record<string, unknown> | null | undefined, codes };
}

function schemaWith(typeDefs: string, resolvers: Record<string, Record<string, unknown>> = {}) {
  return buildSchema({ typeDefs, resolvers });
}

describe('the rule map derived from the SDL', () => {
  it('loads schema/directives.graphql with the other SDL files', () => {
    expect(loadTypeDefs().some((sdl) => sdl.includes('directive @signedIn on FIELD_DEFINITION | OBJECT'))).toBe(true);
  });

  it('makes the same decision as the old hand-written map, for every field it had', () => {
    // Fields added since (wave 3's features) are checked by their own features' tests.
    const now = decisions(buildSchema());
    const sameFields = Object.fromEntries(
      Object.entries(RULE_MAP_BEFORE).map(([type, fields]) => [type, Object.fromEntries(Object.keys(fields).map((field) => [field, now[type]?.[field]]))]),
    );
    expect(sameFields).toEqual(RULE_MAP_BEFORE);
    expect([now.Query?.auditEvents, now.Query?.myAuditEvents, now.AuditEvent?.details]).toEqual(['isAdmin', 'isSignedIn', 'isSignedIn']);
  });

  it('leaves a field without a directive on it or its type out of the map, so it is denied', async () => {
    const schema = schemaWith('extend type Query { leak: String, open: String @public } extend type User { passwordHash: String }', {
      Query: { leak: () => 'secret!', open: () => 'hello', me: (_p: unknown, _a: unknown, ctx: GraphQLContext) => ctx.viewer?.user },
      User: { passwordHash: () => '$argon2id$...' },
    });
    const map = deriveRuleMap(schema);
    expect(map.Query).not.toHaveProperty('leak');
    expect(map.User).not.toHaveProperty('passwordHash');

    const res = await run(schema, '{ leak open me { username passwordHash } }', context({ user: admin, fresh: true }));
    expect(res.data).toEqual({ leak: null, open: 'hello', me: { username: 'root', passwordHash: null } });
    expect(res.codes).toEqual({ leak: 'FORBIDDEN', 'me.passwordHash': 'FORBIDDEN' });
  });

  it('lets a type-level directive cover the fields of its type, and a field-level one decide instead', async () => {
    const schema = schemaWith(
      'type Report @signedIn { title: String, motto: String @public, budget: Int @hasRole(role: ADMIN) } extend type Query { report: Report @public }',
      { Query: { report: () => ({ title: 'Q4', motto: 'ship it', budget: 7 }) } },
    );
    expect(decisions(schema).Report).toEqual({ title: 'isSignedIn', motto: 'allow', budget: 'isAdmin' });

    const anonymous = await run(schema, '{ report { title motto budget } }', context(null));
    expect(anonymous.data).toEqual({ report: { title: null, motto: 'ship it', budget: null } });
    expect(anonymous.codes).toEqual({ 'report.title': 'UNAUTHENTICATED', 'report.budget': 'UNAUTHENTICATED' });
    const user = await run(schema, '{ report { title motto budget } }', context({ user: alice }));
    expect(user.data).toEqual({ report: { title: 'Q4', motto: 'ship it', budget: null } });
    expect(user.codes).toEqual({ 'report.budget': 'FORBIDDEN' });
  });

  it('puts no middleware on a field anyone may read, and keeps it on every other field', () => {
    const schema = schemaWith('extend type Query { leak: String, open: String @public }', { Query: { leak: () => 'secret!', open: () => 'hello' } });
    const [, middleware] = createPermissions(schema) as unknown as [unknown, Record<string, Record<string, unknown>>]; // [API key layer, shield]
    const map = deriveRuleMap(schema);
    for (const [typeName, fields] of Object.entries(middleware)) {
      for (const fieldName of Object.keys(fields)) expect(map[typeName]?.[fieldName], `${typeName}.${fieldName}`).not.toBe(rules.allow);
    }
    expect(middleware.User).not.toHaveProperty('username'); // @public
    expect(middleware.Protected).not.toHaveProperty('loggedInAs'); // a @public type
    expect(middleware.Query).not.toHaveProperty('open');
    expect(middleware.Query).toHaveProperty('me'); // @signedIn
    expect(middleware.Query).toHaveProperty('leak'); // no directive: shield's deny
    expect(middleware.User).toHaveProperty('email'); // @self
  });

  it('leaves introspection open, as graphql-shield skips its types', async () => {
    const res = await graphql({ schema: buildSchema(), source: getIntrospectionQuery(), contextValue: context(null) });
    expect(res.errors).toBeUndefined();
    const types = (res.data as { __schema: { types: { name: string }[] } }).__schema.types.map((t) => t.name);
    expect(types).toEqual(expect.arrayContaining(['Query', 'Mutation', 'User', '__Schema', '__Type']));
  });

  it('covers fields added to a type-level type by a later `extend type`', () => {
    const schema = schemaWith('extend type Session { ipAddress: String }');
    expect(decisions(schema).Session?.ipAddress).toBe('allow');
  });

  it('requires every directive of a field, checked in the order written', async () => {
    const schema = schemaWith('extend type Mutation { wipe: Boolean @hasRole(role: ADMIN) @freshToken }', { Mutation: { wipe: () => true } });
    expect(decisions(schema).Mutation?.wipe).toBe('unnamed RuleChain');
    const cases: Array<[GraphQLContext, Record<string, string>]> = [
      [context(null), { wipe: 'UNAUTHENTICATED' }],
      [context({ user: alice, fresh: true }), { wipe: 'FORBIDDEN' }],
      [context({ user: alice, fresh: false }), { wipe: 'FORBIDDEN' }], // both fail: the first written decides
      [context({ user: admin, fresh: false }), { wipe: 'FRESH_TOKEN_REQUIRED' }],
      [context({ user: admin, fresh: true }), {}],
    ];
    for (const [ctx, codes] of cases) expect((await run(schema, 'mutation { wipe }', ctx)).codes).toEqual(codes);
  });

  it('lets @self fields be read by the user themselves, by an ADMIN, and on a token pair just issued', async () => {
    const users: Record<string, User> = { [alice.id]: alice, [bob.id]: bob };
    const schema = schemaWith(
      'extend type User { secret: String @self } extend type Query { someone(id: ID!): User @public } extend type Mutation { issue: AuthPayload @public }',
      {
        Query: { someone: (_p: unknown, { id }: { id: string }) => users[id], me: (_p: unknown, _a: unknown, ctx: GraphQLContext) => ctx.viewer?.user },
        Mutation: { issue: () => ({ accessToken: 'a', refreshToken: 'r', expiresIn: 900, user: bob }) },
        User: { secret: (u: User) => `secret of ${u.username}` },
      },
    );
    const read = (ctx: GraphQLContext, id: string) => run(schema, `{ someone(id: "${id}") { username secret } }`, ctx);

    expect((await read(context({ user: alice }), alice.id)).data).toEqual({ someone: { username: 'alice', secret: 'secret of alice' } });
    expect((await read(context({ user: admin }), bob.id)).data).toEqual({ someone: { username: 'bob', secret: 'secret of bob' } });
    const other = await read(context({ user: alice }), bob.id);
    expect(other.data).toEqual({ someone: { username: 'bob', secret: null } });
    expect(other.codes).toEqual({ 'someone.secret': 'FORBIDDEN' });
    expect((await read(context(null), alice.id)).codes).toEqual({ 'someone.secret': 'UNAUTHENTICATED' });

    const issued = await run(schema, 'mutation { issue { user { secret } } }', context(null));
    expect(issued).toEqual({ data: { issue: { user: { secret: 'secret of bob' } } }, codes: {} });
  });
});

describe('a declaration that cannot be enforced as written fails at start-up', () => {
  it.each([
    ['a directive with no rule in permissions.ts', 'directive @ownerOnly on FIELD_DEFINITION extend type Query { x: String @ownerOnly }', /Query\.x: directive @ownerOnly has no rule/],
    ['a directive the schema does not declare', 'extend type Query { x: String @admin }', /Unknown directive "@admin"/],
    ['an unknown role', 'extend type Query { x: String @hasRole(role: OWNER) }', /Query\.x: bad arguments to @hasRole: .*OWNER/],
    ['a missing role', 'extend type Query { x: String @hasRole }', /argument "role" of type "Role!" is required/],
    ['a type-level directive on Query', 'extend type Query @signedIn { x: String }', /Query: type-level @signedIn not allowed/],
    ['@public beside another rule', 'extend type Query { x: String @public @signedIn }', /Query\.x: @public cannot be combined/],
    ['@self outside User', 'extend type Query { x: String @self }', /Query\.x: @self applies only to fields of User/],
    ['@self on a type other than User', 'type Note @self { x: String } extend type Query { note: Note @public }', /Note\.x: @self applies only to fields of User/],
  ])('%s', (_what, typeDefs, message) => {
    expect(() => schemaWith(typeDefs)).toThrow(message);
  });

  it('also when the directive is declared by a later SDL file with a rule-less name', () => {
    const schema = schemaWith('directive @hasRole2(role: Role!) on FIELD_DEFINITION extend type Query { ok: String @public }');
    expect(decisions(schema).Query?.ok).toBe('allow'); // declaring alone is harmless; using it is what fails
    expect(() => schemaWith('directive @hasRole2(role: Role!) on FIELD_DEFINITION extend type Query { x: String @hasRole2(role: ADMIN) }')).toThrow(
      /no rule/,
    );
  });
});

describe('the requirements for clients', () => {
  it('say what each operation needs', () => {
    const derived = deriveRequirements(buildSchema());
    expect(derived.Mutation.changePassword).toEqual({ signedIn: true, fresh: true });
    expect(derived.Query.users).toEqual({ signedIn: true, role: 'ADMIN' satisfies Role, apiKey: 'ADMIN_READ' });
    expect(derived.Mutation.login).toEqual({});
    expect(derived.Mutation.signup).toEqual({ signupOpen: true });
    expect(derived.Subscription).toEqual({ sessionEvents: { signedIn: true, apiKey: 'SESSIONS' } });
  });

  it('match the committed generated module (run `npm run codegen` when this fails)', () => {
    expect(JSON.parse(JSON.stringify(generated))).toEqual(deriveRequirements(buildSchema()));
  });

  it('refuse a root field without a directive instead of publishing a hole', () => {
    expect(() => deriveRequirements(schemaWith('extend type Query { leak: String }'))).toThrow(/Query\.leak has no authorization directive/);
  });
});
