import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { ApiKeyService } from './api-key.service.js';

/** API keys: each resolver reads its arguments and calls one service method. */
export function apiKeysResolvers(apiKeys: ApiKeyService): Resolvers {
  return {
    Query: {
      myApiKeys: (_parent, _args, ctx) => apiKeys.list(viewerOf(ctx).user.id),
    },
    Mutation: {
      createApiKey: (_parent, { name, scopes, expiresIn }, ctx) => apiKeys.create(viewerOf(ctx), { name, scopes, expiresIn: expiresIn ?? null }, ctx.meta),
      revokeApiKey: (_parent, { id }, ctx) => apiKeys.revoke(viewerOf(ctx), id, ctx.meta),
      revokeUserApiKeys: (_parent, { userId }, ctx) => {
        const viewer = viewerOf(ctx);
        return apiKeys.revokeAllOf({ id: viewer.user.id, sessionId: viewer.sessionId }, userId, ctx.meta);
      },
    },
  };
}
