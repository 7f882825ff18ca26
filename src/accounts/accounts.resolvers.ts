import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/** The signed-in user, and user administration. */
export const userResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => viewerOf(ctx).user,
    user: (_parent, { id }, ctx) => ctx.services.users.getUser(id),
    users: (_parent, { first, after }, ctx) => ctx.services.users.listUsers(first, after ?? null),
  },
  Mutation: {
    setUserRoles: (_parent, { userId, roles }, ctx) => {
      const viewer = viewerOf(ctx);
      return ctx.services.users.setRoles({ userId: viewer.user.id, sessionId: viewer.sessionId }, userId, roles, ctx.meta);
    },
  },
};
