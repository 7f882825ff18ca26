import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { TotpService } from './totp.service.js';

/** Two-factor authentication: each resolver reads its arguments and calls one service method. */
export function mfaResolvers(totp: TotpService): Resolvers {
  return {
    Mutation: {
      enrollTotp: (_parent, _args, ctx) => totp.enroll(viewerOf(ctx), ctx.meta),
      confirmTotp: (_parent, { code }, ctx) => totp.confirm(viewerOf(ctx), code, ctx.meta),
      disableTotp: (_parent, { code }, ctx) => totp.disable(viewerOf(ctx), code, ctx.meta),
      resetUserMfa: (_parent, { userId }, ctx) => totp.reset(viewerOf(ctx), userId, ctx.meta),
    },
    User: {
      mfaEnabled: (user) => totp.isEnabled(user.id),
    },
  };
}
