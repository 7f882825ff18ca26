import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/** Addresses, verification and password reset: each resolver reads its arguments and calls one service method. */
export const emailResolvers: Resolvers = {
  Mutation: {
    setEmail: (_parent, { email }, ctx) => ctx.services.email.setEmail(viewerOf(ctx), email, ctx.meta),
    requestEmailVerification: (_parent, _args, ctx) => ctx.services.email.requestVerification(viewerOf(ctx), ctx.meta),
    verifyEmail: (_parent, { token }, ctx) => ctx.services.email.verifyEmail(token, ctx.meta),
    requestPasswordReset: (_parent, { email }, ctx) => ctx.services.email.requestPasswordReset(email, ctx.meta),
    resetPassword: (_parent, { token, newPassword }, ctx) => ctx.services.email.resetPassword(token, newPassword, ctx.meta),
  },
};
