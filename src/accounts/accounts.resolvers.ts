import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { UserService } from '../users/user.service.js';

/** The signed-in user, and user administration. */
export function accountsResolvers(users: UserService): Resolvers {
  return {
    Query: {
      me: (_parent, _args, ctx) => viewerOf(ctx).user,
      user: (_parent, { id }) => users.getUser(id),
      users: (_parent, { first, after }) => users.listUsers(first, after ?? null),
    },
    Mutation: {
      setUserRoles: (_parent, { userId, roles }, ctx) => {
        const viewer = viewerOf(ctx);
        return users.setRoles({ userId: viewer.user.id, sessionId: viewer.sessionId }, userId, roles, ctx.meta);
      },
    },
  };
}
