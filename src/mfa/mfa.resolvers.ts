import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/** Two-factor authentication: each resolver reads its arguments and calls one service method. */
export const totpResolvers: Resolvers = {
  Mutation: {
    enrollTotp: (_parent, _args, ctx) => ctx.services.totp.enroll(viewerOf(ctx), ctx.meta),
    confirmTotp: (_parent, { code }, ctx) => ctx.services.totp.confirm(viewerOf(ctx), code, ctx.meta),
    disableTotp: (_parent, { code }, ctx) => ctx.services.totp.disable(viewerOf(ctx), code, ctx.meta),
    verifyMfa: (_parent, { mfaToken, code }, ctx) => ctx.services.signIn.verifyMfa(mfaToken, code, ctx.meta),
    resetUserMfa: (_parent, { userId }, ctx) => ctx.services.totp.reset(viewerOf(ctx), userId, ctx.meta),
  },
  User: {
    mfaEnabled: (user, _args, ctx) => ctx.services.totp.isEnabled(user.id),
  },
};
