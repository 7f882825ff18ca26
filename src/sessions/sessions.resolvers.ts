import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/** The caller's sessions. */
export const sessionResolvers: Resolvers = {
  Query: {
    mySessions: (_parent, _args, ctx) => ctx.services.tokens.listSessions(viewerOf(ctx)),
  },
  Mutation: {
    logout: (_parent, _args, ctx) => ctx.services.tokens.logout(viewerOf(ctx), ctx.meta),
    logoutAll: (_parent, _args, ctx) => ctx.services.tokens.logoutAll(viewerOf(ctx), ctx.meta),
    revokeSession: (_parent, { id }, ctx) => ctx.services.tokens.revokeSession(viewerOf(ctx), id, ctx.meta),
  },
  Session: {
    current: (session, _args, ctx) => session.id === ctx.viewer?.sessionId,
  },
};
