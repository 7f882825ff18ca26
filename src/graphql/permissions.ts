import { allow, deny, rule, shield } from 'graphql-shield';
import type { IRules } from 'graphql-shield';
import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { AppError, ErrorCode, unauthenticated } from '../errors.js';
import type { GraphQLContext } from './context.js';

/*
 * Every authorization decision of the API, in one place. Rules return the
 * contract's errors (they never throw them): a thrown error means a bug, and
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

const isAdmin = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
  if (ctx.viewer === null) return notSignedIn(ctx, info);
  return ctx.viewer.user.roles.includes('ADMIN') ? true : refuse(new AppError(ErrorCode.FORBIDDEN, 'This needs the ADMIN role.'), info);
});

/** A fresh token comes straight from a password login: a stolen, refreshed token cannot change the password. */
const hasFreshToken = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
  if (ctx.viewer === null) return notSignedIn(ctx, info);
  return ctx.viewer.fresh
    ? true
    : refuse(new AppError(ErrorCode.FRESH_TOKEN_REQUIRED, 'This needs a fresh token: sign in with your password again.'), info);
});

/**
 * User objects handed out in an AuthPayload of this response: the caller has
 * just proven to be that user (signup, login, refresh), though the request
 * itself came without a token. Per-request objects, so a WeakSet forgets them.
 */
const issuedUsers = new WeakSet<object>();

/** Marks the user of an AuthPayload as the caller's own, for isSelfOrAdmin. */
const isIssuedPayloadUser = rule({ cache: 'no_cache' })((parent: { user?: object }) => {
  if (parent.user) issuedUsers.add(parent.user);
  return true;
});

/** Fields of a User that only that user and ADMIN may read (the address). */
const isSelfOrAdmin = rule({ cache: 'no_cache' })((parent: { id?: string }, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) => {
  if (issuedUsers.has(parent)) return true;
  if (ctx.viewer === null) return notSignedIn(ctx, info);
  if (ctx.viewer.user.id === parent.id || ctx.viewer.user.roles.includes('ADMIN')) return true;
  return refuse(new AppError(ErrorCode.FORBIDDEN, "Only the user themself and ADMIN may read this field."), info);
});

const signupIsOpen = rule({ cache: 'no_cache' })((_parent, _args, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
  ctx.signupEnabled ? true : refuse(new AppError(ErrorCode.FORBIDDEN, 'Signup is disabled on this server.'), info),
);

/**
 * The rule map. Fields are listed one by one, even on output types, so a field
 * added to the schema later is denied until someone decides who may read it.
 */
export const ruleMap = {
  Query: {
    me: isSignedIn,
    protected: isSignedIn,
    mySessions: isSignedIn,
    user: isAdmin,
    users: isAdmin,
  },
  Mutation: {
    signup: signupIsOpen,
    login: allow,
    refreshToken: allow,
    logout: isSignedIn,
    logoutAll: isSignedIn,
    revokeSession: isSignedIn,
    changePassword: hasFreshToken,
    setUserRoles: isAdmin,
    setEmail: hasFreshToken,
    requestEmailVerification: isSignedIn,
    verifyEmail: allow,
    requestPasswordReset: allow,
    resetPassword: allow,
  },
  AuthPayload: { accessToken: allow, refreshToken: allow, tokenType: allow, expiresIn: allow, user: isIssuedPayloadUser },
  User: { id: allow, username: allow, roles: allow, createdAt: allow, email: isSelfOrAdmin, emailVerified: isSelfOrAdmin },
  UserConnection: { nodes: allow, totalCount: allow, endCursor: allow, hasNextPage: allow },
  Session: { id: allow, createdAt: allow, lastUsedAt: allow, expiresAt: allow, userAgent: allow, current: allow },
  Protected: { loggedInAs: allow },
} satisfies IRules;

/** The shield middleware for the schema. */
export function createPermissions() {
  return shield(ruleMap, {
    // Deny what no rule allows: new fields start closed.
    fallbackRule: deny,
    fallbackError: new AppError(ErrorCode.FORBIDDEN, 'You are not allowed to read this field.'),
    // Errors that resolvers throw (AppError) pass through untouched.
    allowExternalErrors: true,
    // "debug" makes an exception inside a rule propagate (and be logged as an
    // internal error) instead of silently becoming a denial.
    debug: true,
  });
}
