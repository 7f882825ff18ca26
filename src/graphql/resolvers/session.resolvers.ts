import type { Resolvers } from '../generated/resolvers-types.js';
import { viewerOf } from './viewer.js';

/** The caller's sessions. */
export const sessionResolvers: Resolvers = {
  Query: {
    mySessions: (_parent, _args, ctx) => ctx.services.auth.listSessions(viewerOf(ctx)),
  },
  Mutation: {
    logout: (_parent, _args, ctx) => ctx.services.auth.logout(viewerOf(ctx), ctx.meta),
    logoutAll: (_parent, _args, ctx) => ctx.services.auth.logoutAll(viewerOf(ctx), ctx.meta),
    revokeSession: (_parent, { id }, ctx) => ctx.services.auth.revokeSession(viewerOf(ctx), id, ctx.meta),
  },
  Session: {
    current: (session, _args, ctx) => session.id === ctx.viewer?.sessionId,
  },
};
