import { allow, chain, deny, rule, shield } from 'graphql-shield';
import type { IRule, IRules } from 'graphql-shield';
import type { IMiddlewareFunction, IMiddlewareTypeMap } from 'graphql-middleware';
import {
  GraphQLError,
  getDirectiveValues,
  isIntrospectionType,
  isObjectType,
  isSpecifiedDirective,
  print,
  responsePathAsArray,
  type DirectiveNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { AppError, ErrorCode, forbiddenForApiKey, unauthenticated } from '../errors.js';
import { API_SCOPES, type ApiKeyGrant, type ApiScope, type Viewer } from '../sessions/ports.js';
import { ROLES, type Role } from '../users/user.js';
import type { AuthTraceEntry, GraphQLContext } from './context.js';

/** A rule or a combination of rules (graphql-shield does not export these names). */
type ShieldRule = IRule | ReturnType<typeof chain>;
type IRuleFieldMap = Record<string, ShieldRule>;

/*
 * Every authorization decision of the API, in one place. WHERE a rule applies
 * is declared in the SDL, as a directive beside each field (schema/directives.graphql);
 * HOW each rule decides, and the error it returns, is written here. Rules return
 * the contract's errors (they never throw them): a thrown error means a bug, and
 * surfaces as INTERNAL_SERVER_ERROR instead of hiding behind "not authorised".
 */

/**
 * Turns a refusal into the GraphQL error graphql-js would build from it, with
 * its location and path, but without a stack trace: graphql-js would capture
 * and format one for every refused field, and refusals are what an attacker
 * can make us produce at will. Built synchronously, so the limit is restored
 * before anything else runs.
 */
function refuse(error: AppError, info: GraphQLResolveInfo): GraphQLError {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GraphQLError(error.message, { nodes: info.fieldNodes, path: responsePathAsArray(info.path), originalError: error });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** Why the caller is not signed in: the contract's UNAUTHENTICATED, or the internal error (kept whole) that kept us from knowing. */
function notSignedIn(ctx: GraphQLContext, info: GraphQLResolveInfo): Error {
  return ctx.authUnavailable ?? refuse(unauthenticated(ctx.authFailure ?? 'MISSING_TOKEN'), info);
}

// Rules are cheap and read only the context, so none is cached: a cached
// refusal would carry the first field's path to the next.
const isSignedIn = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
  ctx.viewer !== null ? true : notSignedIn(ctx, info),
);

/** One rule per role, made once: shield refuses two different rules under one name. */
const roleRules = new Map<Role, ShieldRule>(
  ROLES.map((role) => [
    role,
    rule(`hasRole:${role}`, { cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
      if (ctx.viewer === null) return notSignedIn(ctx, info);
      return ctx.viewer.user.roles.includes(role) ? true : refuse(new AppError(ErrorCode.FORBIDDEN, `This needs the ${role} role.`), info);
    }),
  ]),
);

function hasRole(role: Role): ShieldRule {
  const found = roleRules.get(role);
  if (found === undefined) throw new Error(`no rule for role ${role}`);
  return found;
}

/**
 * A fresh token comes straight from a password login (or, for a user with
 * TOTP on, from verifyMfa): a stolen, refreshed token cannot change the password.
 */
const hasFreshToken = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
  if (ctx.viewer === null) return notSignedIn(ctx, info);
  // A key is never fresh, and the contract refuses it by name (the key layer has refused it already on root fields).
  if (ctx.viewer.apiKey !== undefined) return refuse(forbiddenForApiKey(), info);
  return ctx.viewer.fresh
    ? true
    : refuse(new AppError(ErrorCode.FRESH_TOKEN_REQUIRED, 'This needs a fresh token: sign in again (with your second factor, when it is on).'), info);
});

/**
 * A field of User that only that user or an ADMIN may read. The `user` of a
 * token pair (AuthPayload.user) counts as the caller's own: the pair was just
 * issued to that user, and whoever holds the payload holds their tokens, even
 * though the request itself came without one (login, signup, refresh).
 */
const isSelfOrAdmin = rule({ cache: 'no_cache' })((parent: { readonly id: string }, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
  if (info.path.prev?.typename === 'AuthPayload') return true;
  if (ctx.viewer === null) return notSignedIn(ctx, info);
  if (parent.id === ctx.viewer.user.id || ctx.viewer.user.roles.includes('ADMIN')) return true;
  return refuse(new AppError(ErrorCode.FORBIDDEN, 'Only this user or an ADMIN may read this field.'), info);
});

const signupIsOpen = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
  ctx.signupEnabled ? true : refuse(new AppError(ErrorCode.FORBIDDEN, 'Signup is disabled on this server.'), info),
);

/** The rules, for tests that compare the derived map with the decisions they expect. */
export const rules = { allow, isSignedIn, hasRole, hasFreshToken, isSelfOrAdmin, signupIsOpen } as const;

/**
 * What a field needs, as data for clients (the generated requirements module):
 * `{}` means anyone may call it.
 */
export interface Requirements {
  signedIn?: true;
  fresh?: true;
  role?: Role;
  self?: true;
  signupOpen?: true;
  /** The scope an API key needs for this root field; absent: API keys are refused. */
  apiKey?: ApiScope;
}

/** What one directive means: its rule, and what it tells clients. */
interface DirectiveRule {
  readonly rule: (args: Record<string, unknown>) => ShieldRule;
  readonly needs: (args: Record<string, unknown>) => Requirements;
  /** Only fields of these types may carry it (or types among them). */
  readonly onlyOn?: readonly string[];
}

function scopeArgument(args: Record<string, unknown>): ApiScope {
  const scope = args.scope;
  if (typeof scope !== 'string' || !(API_SCOPES as readonly string[]).includes(scope)) throw new Error(`unknown API key scope ${String(scope)}`);
  return scope as ApiScope;
}

function roleArgument(args: Record<string, unknown>): Role {
  const role = args.role;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new Error(`unknown role ${String(role)}`);
  return role as Role;
}

/** Every authorization directive of schema/directives.graphql, by name. A directive missing here fails start-up. */
const DIRECTIVE_RULES: Readonly<Record<string, DirectiveRule>> = {
  public: { rule: () => allow, needs: () => ({}) },
  signedIn: { rule: () => isSignedIn, needs: () => ({ signedIn: true }) },
  hasRole: { rule: (args) => hasRole(roleArgument(args)), needs: (args) => ({ signedIn: true, role: roleArgument(args) }) },
  freshToken: { rule: () => hasFreshToken, needs: () => ({ signedIn: true, fresh: true }) },
  self: { rule: () => isSelfOrAdmin, needs: () => ({ signedIn: true, self: true }), onlyOn: ['User'] },
  signupOpen: { rule: () => signupIsOpen, needs: () => ({ signupOpen: true }) },
  // Not a shield rule: the API key layer (below) reads it; for everyone else the field's other directives decide.
  apiKey: { rule: (args) => (scopeArgument(args), allow), needs: (args) => ({ apiKey: scopeArgument(args) }), onlyOn: ['Query', 'Mutation', 'Subscription'] },
};

/** The root types: each of their fields declares its own rule, never inherited from a type-level directive. */
const ROOT_TYPES = ['Query', 'Mutation', 'Subscription'] as const;

/** One authorization directive as written on a field or type, with its arguments coerced by the schema. */
interface Declared {
  readonly name: string;
  readonly spec: DirectiveRule;
  readonly args: Record<string, unknown>;
  /** As written in the SDL, e.g. `@hasRole(role: ADMIN)` (the authorization trace names it). */
  readonly text: string;
}

function readDirectives(schema: GraphQLSchema, nodes: readonly DirectiveNode[], where: string): Declared[] {
  const declared: Declared[] = [];
  for (const node of nodes) {
    const definition = schema.getDirective(node.name.value);
    if (definition == null) throw new Error(`${where}: unknown directive @${node.name.value}`);
    if (isSpecifiedDirective(definition)) continue; // @deprecated, @specifiedBy: not about authorization
    const spec = DIRECTIVE_RULES[definition.name];
    if (spec === undefined) {
      throw new Error(`${where}: directive @${definition.name} has no rule in src/graphql/permissions.ts, so it cannot protect anything`);
    }
    let args: Record<string, unknown>;
    try {
      args = { ...getDirectiveValues(definition, { directives: [node] }) };
      spec.rule(args);
    } catch (error) {
      throw new Error(`${where}: bad arguments to @${definition.name}: ${(error as Error).message}`, { cause: error });
    }
    declared.push({ name: definition.name, spec, args, text: print(node) });
  }
  return declared;
}

/**
 * The authorization directives that decide each field of each object type:
 * the field's own, or else its type's; fields with none are left out (and so
 * denied). Throws on any declaration that cannot be enforced as written.
 */
function decideFields(schema: GraphQLSchema): Map<string, Map<string, Declared[]>> {
  const decided = new Map<string, Map<string, Declared[]>>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    const typeLevel = readDirectives(schema, typeDirectiveNodes(type), type.name);
    if (typeLevel.length > 0 && (ROOT_TYPES as readonly string[]).includes(type.name)) {
      throw new Error(`${type.name}: type-level @${typeLevel[0]!.name} not allowed; declare the rule on each field`);
    }
    const fields = new Map<string, Declared[]>();
    for (const field of Object.values(type.getFields())) {
      const where = `${type.name}.${field.name}`;
      const own = readDirectives(schema, field.astNode?.directives ?? [], where);
      const effective = own.length > 0 ? own : typeLevel;
      if (effective.length === 0) continue;
      if (effective.length > 1 && effective.some((d) => d.name === 'public')) {
        throw new Error(`${where}: @public cannot be combined with another rule`);
      }
      if (effective.some((d) => d.name === 'apiKey')) {
        if (effective.every((d) => d.name === 'apiKey')) throw new Error(`${where}: @apiKey admits keys only; declare who else may call it (@signedIn, @hasRole …)`);
        if (effective.some((d) => d.name === 'freshToken')) throw new Error(`${where}: @apiKey cannot go with @freshToken: a key is never fresh`);
        if (effective.filter((d) => d.name === 'apiKey').length > 1) throw new Error(`${where}: one @apiKey scope per field`);
      }
      for (const d of effective) {
        if (d.spec.onlyOn !== undefined && !d.spec.onlyOn.includes(type.name)) {
          throw new Error(`${where}: @${d.name} applies only to fields of ${d.spec.onlyOn.join(', ')}`);
        }
      }
      fields.set(field.name, effective);
    }
    decided.set(type.name, fields);
  }
  return decided;
}

function typeDirectiveNodes(type: GraphQLObjectType): DirectiveNode[] {
  return [type.astNode, ...type.extensionASTNodes].flatMap((node) => node?.directives ?? []);
}

/**
 * The shield rule map, derived from the directives in the SDL. A field with
 * no directive on it or its type gets no entry, so `fallbackRule: deny`
 * refuses it. Several directives must all pass, checked in the order written
 * (`chain`): the first refusal is the one the client sees.
 */
export function deriveRuleMap(schema: GraphQLSchema): Record<string, IRuleFieldMap> {
  const map: Record<string, IRuleFieldMap> = {};
  for (const [typeName, fields] of decideFields(schema)) {
    const typeRules: IRuleFieldMap = {};
    for (const [fieldName, declared] of fields) {
      const fieldRules = declared.filter((d) => d.name !== 'apiKey').map((d) => d.spec.rule(d.args));
      typeRules[fieldName] = fieldRules.length === 1 ? fieldRules[0]! : chain(...fieldRules);
    }
    map[typeName] = typeRules;
  }
  return map;
}

/** What each Query/Mutation/Subscription field needs, for the generated client module; a root field without a rule throws. */
export function deriveRequirements(schema: GraphQLSchema): Record<(typeof ROOT_TYPES)[number], Record<string, Requirements>> {
  const decided = decideFields(schema);
  const result = { Query: {}, Mutation: {}, Subscription: {} } as Record<(typeof ROOT_TYPES)[number], Record<string, Requirements>>;
  for (const root of ROOT_TYPES) {
    const type = schema.getType(root);
    if (!isObjectType(type)) continue;
    const fields = decided.get(root) ?? new Map<string, Declared[]>();
    for (const field of Object.keys(type.getFields()).sort()) {
      const declared = fields.get(field);
      if (declared === undefined) throw new Error(`${root}.${field} has no authorization directive: everyone would be denied`);
      result[root][field] = Object.assign({}, ...declared.map((d) => d.spec.needs(d.args))) as Requirements;
    }
  }
  return result;
}

/** Refuses what an API key may not do on a root field declaring `scope` (null: none); null when the key may go on. */
function refuseKey(viewer: Viewer, grant: ApiKeyGrant, scope: ApiScope | null): AppError | null {
  if (scope === null || !grant.scopes.includes(scope)) return forbiddenForApiKey();
  // The ADMIN scopes act for the owner's role as it is now (read on every request), never as it was at creation.
  if ((scope === 'ADMIN_READ' || scope === 'ADMIN_WRITE') && !viewer.user.roles.includes('ADMIN')) {
    return new AppError(ErrorCode.FORBIDDEN, 'This needs the ADMIN role.');
  }
  if (grant.retryAfter !== null) {
    return new AppError(ErrorCode.RATE_LIMITED, `This API key made too many requests; try again in ${grant.retryAfter} s.`, { retryAfter: grant.retryAfter });
  }
  return null;
}

/**
 * The API key layer, in front of shield on every root field: a request made
 * with an API key reaches a field only if the field declares
 * `@apiKey(scope: …)` with a scope the key holds (deny by default: a field
 * without one, `@public` ones included, refuses keys with FORBIDDEN /
 * API_KEY). Every other request goes straight through, synchronously: the
 * access-token path pays one function call per root field.
 */
function apiKeyLayer(schema: GraphQLSchema, decided: Map<string, Map<string, Declared[]>>): IMiddlewareTypeMap {
  const layer: IMiddlewareTypeMap = {};
  for (const root of ROOT_TYPES) {
    const type = schema.getType(root);
    if (!isObjectType(type)) continue;
    const fields: Record<string, IMiddlewareFunction> = {};
    for (const field of Object.keys(type.getFields())) {
      const declared = decided.get(root)?.get(field)?.find((d) => d.name === 'apiKey');
      const scope = declared === undefined ? null : scopeArgument(declared.args);
      fields[field] = (resolve, parent, args, ctx: GraphQLContext, info) => {
        const grant = ctx.viewer?.apiKey;
        if (grant === undefined) return resolve(parent, args, ctx, info);
        const refusal = refuseKey(ctx.viewer!, grant, scope);
        return refusal === null ? resolve(parent, args, ctx, info) : refuse(refusal, info);
      };
    }
    layer[root] = fields;
  }
  return layer;
}

/** What the trace names for a field without any directive. */
const UNDECLARED = '(no directive: denied)';

/** The reason of a refusal, as the trace shows it: `extensions.reason`, else the code. */
function refusalReason(value: unknown): string {
  let cause: unknown = value;
  for (let depth = 0; depth < 5 && cause instanceof GraphQLError && cause.originalError; depth++) cause = cause.originalError;
  if (cause instanceof AppError) return typeof cause.extras.reason === 'string' ? cause.extras.reason : cause.code;
  return ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * The authorization trace (AUTH_TRACE): two layers around the permission
 * layers of each field they guard. The inner one marks that the field's
 * resolver was reached (every permission layer let it through); the outer
 * one writes the entry, `allowed` or the refusal's reason. Installed only
 * when the trace is on: off, nothing of it runs.
 */
function traceLayers(guarded: IMiddlewareTypeMap[], decided: Map<string, Map<string, Declared[]>>): { outer: IMiddlewareTypeMap; inner: IMiddlewareTypeMap } {
  const reached = new WeakSet<GraphQLResolveInfo>();
  const outer: IMiddlewareTypeMap = {};
  const inner: IMiddlewareTypeMap = {};
  const markReached: IMiddlewareFunction = (resolve, parent, args, ctx, info: GraphQLResolveInfo) => {
    reached.add(info);
    return resolve(parent, args, ctx, info);
  };
  const fieldsOf = (map: IMiddlewareTypeMap, type: string) => Object.keys((map[type] as Record<string, unknown> | undefined) ?? {});
  const types = new Set(guarded.flatMap((map) => Object.keys(map)));
  for (const type of types) {
    const outerFields: Record<string, IMiddlewareFunction> = {};
    const innerFields: Record<string, IMiddlewareFunction> = {};
    for (const field of new Set(guarded.flatMap((map) => fieldsOf(map, type)))) {
      const rule = decided.get(type)?.get(field)?.map((d) => d.text).join(' ') || UNDECLARED;
      innerFields[field] = markReached;
      outerFields[field] = async (resolve, parent, args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
        const trace = ctx.authTrace;
        if (trace === undefined) return resolve(parent, args, ctx, info);
        const path = responsePathAsArray(info.path).join('.');
        try {
          const value: unknown = await resolve(parent, args, ctx, info);
          const allowed = reached.has(info);
          trace.push({ path, rule, allowed, reason: allowed ? null : refusalReason(value) });
          return value;
        } catch (error) {
          const allowed = reached.has(info);
          trace.push({ path, rule, allowed, reason: allowed ? null : refusalReason(error) });
          throw error;
        }
      };
    }
    outer[type] = outerFields;
    inner[type] = innerFields;
  }
  return { outer, inner };
}

/** How the permission layers are built. */
export interface PermissionOptions {
  /** AUTH_TRACE: record each decision in the context's `authTrace`. */
  readonly trace?: boolean;
}

/**
 * The permission layers of the schema, outermost first, for applyMiddleware:
 * the API key layer on root fields, then shield with its rules read from the
 * schema's directives, on the fields that need a check (and, with the trace
 * on, the trace's two layers around them). A field anyone may read
 * (`@public`, or a type marked so) gets no shield middleware at all: shield would
 * wrap it in an async call that evaluates `allow` and then resolves it, for
 * every field of every answer (profiled: the wrapping made each scalar of
 * `me` a promise). Without a wrapper it resolves exactly as `allow` would let
 * it; errors its resolver throws pass through as they do with
 * `allowExternalErrors`. Fields without a rule keep shield's `deny`.
 */
export function createPermissions(schema: GraphQLSchema, options: PermissionOptions = {}): IMiddlewareTypeMap[] {
  const decided = decideFields(schema);
  const ruleMap = deriveRuleMap(schema);
  const generated = shield(ruleMap satisfies IRules, {
    // Deny what no rule allows: new fields start closed.
    fallbackRule: deny,
    fallbackError: new AppError(ErrorCode.FORBIDDEN, 'You are not allowed to read this field.'),
    // Errors that resolvers throw (AppError) pass through untouched.
    allowExternalErrors: true,
    // "debug" makes an exception inside a rule propagate (and be logged as an
    // internal error) instead of silently becoming a denial.
    debug: true,
  }).generate(schema) as IMiddlewareTypeMap;
  for (const [typeName, fields] of Object.entries(ruleMap)) {
    const typeMiddleware = generated[typeName];
    if (typeMiddleware === undefined || typeof typeMiddleware === 'function') continue;
    for (const [fieldName, fieldRule] of Object.entries(fields)) {
      if (fieldRule === allow) delete (typeMiddleware as Record<string, unknown>)[fieldName];
    }
  }
  const layers = [apiKeyLayer(schema, decided), generated];
  if (!options.trace) return layers;
  const { outer, inner } = traceLayers(layers, decided);
  return [outer, ...layers, inner];
}

export type { AuthTraceEntry };
