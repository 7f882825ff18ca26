import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { SocialService } from './social.service.js';

/** Social sign-in: each resolver reads its arguments and calls one service method. */
export function socialResolvers(social: SocialService): Resolvers {
  return {
    Query: {
      oauthProviders: () => social.listProviders(),
    },
    Mutation: {
      startOAuth: (_parent, { provider, redirectTo, link }, ctx) =>
        social.startOAuth(
          { provider, redirectTo, link: link === true },
          { viewer: ctx.viewer, authFailure: ctx.authFailure, cookies: ctx.requestCookies ?? null, meta: ctx.meta },
        ),
      completeOAuth: (_parent, { code }, ctx) => social.completeOAuth(code, ctx.viewer, ctx.meta),
      unlinkIdentity: (_parent, { provider }, ctx) => social.unlinkIdentity(viewerOf(ctx), provider, ctx.meta),
    },
    User: {
      identities: (user) => social.listIdentities(user.id),
    },
  };
}
