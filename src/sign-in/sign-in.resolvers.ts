import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/** Sign-in, tokens and password: each resolver reads its arguments and calls one service method. */
export const authResolvers: Resolvers = {
  Query: {
    protected: (_parent, _args, ctx) => viewerOf(ctx).user,
  },
  Mutation: {
    signup: (_parent, { username, password, email }, ctx) => ctx.services.signIn.signup(username, password, ctx.meta, email ?? null),
    login: (_parent, { username, password }, ctx) => ctx.services.signIn.login(username, password, ctx.meta),
    // Without the argument, the tg_refresh cookie (cookie mode; see http/cookies.ts).
    refreshToken: (_parent, { refreshToken }, ctx) =>
      refreshToken != null
        ? ctx.services.tokens.refresh(refreshToken, ctx.meta)
        : ctx.services.tokens.refreshWithCookie(ctx.cookies?.credential ?? null, ctx.meta),
    changePassword: (_parent, { currentPassword, newPassword }, ctx) =>
      ctx.services.signIn.changePassword(viewerOf(ctx), currentPassword, newPassword, ctx.meta),
  },
  Protected: {
    loggedInAs: (user) => user.username,
  },
};
