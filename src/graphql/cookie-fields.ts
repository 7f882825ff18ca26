import { defaultFieldResolver, getNamedType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { AuthResult } from '../sessions/ports.js';
import type { GraphQLContext } from './context.js';

/** Mutations that end the caller's session(s) and so clear the cookies. */
const SIGN_OUT_MUTATIONS = new Set(['logout', 'logoutAll']);

/**
 * Wires the cookie transport (docs/api.md, "Cookie transport for
 * browsers") into the schema once, instead of into each resolver: every
 * mutation answering `AuthPayload` (signup, login, refreshToken,
 * changePassword, and whichever is added later, like verifyMfa) sets
 * tg_refresh and tg_csrf and answers `refreshToken: ""`; logout and logoutAll
 * clear both. Nothing changes when the request has no cookie transport
 * (REFRESH_TOKEN_COOKIE=false). Runs inside the permission layer, so only an
 * authorized, successful mutation touches a cookie.
 */
export function applyCookieTransport(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  if (!mutation) return schema;
  for (const field of Object.values(mutation.getFields())) {
    const resolve: GraphQLFieldResolver<unknown, GraphQLContext> = field.resolve ?? defaultFieldResolver;
    if (getNamedType(field.type).name === 'AuthPayload') {
      field.resolve = async (parent, args, ctx, info) => {
        const result = (await resolve(parent, args, ctx, info)) as AuthResult;
        if (!ctx.cookies) return result;
        ctx.cookies.issue({ refreshToken: result.refreshToken, sessionId: result.sessionId, expiresAt: result.sessionExpiresAt });
        // The token exists only in the HttpOnly cookie: script never sees it.
        return { ...result, refreshToken: '' };
      };
    } else if (SIGN_OUT_MUTATIONS.has(field.name)) {
      field.resolve = async (parent, args, ctx, info) => {
        const result: unknown = await resolve(parent, args, ctx, info);
        ctx.cookies?.clear();
        return result;
      };
    }
  }
  return schema;
}
