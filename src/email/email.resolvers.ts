import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { EmailService } from './email.service.js';

/** Addresses, verification and password reset: each resolver reads its arguments and calls one service method. */
export function emailResolvers(email: EmailService): Resolvers {
  return {
    Mutation: {
      setEmail: (_parent, args, ctx) => email.setEmail(viewerOf(ctx), args.email, ctx.meta),
      requestEmailVerification: (_parent, _args, ctx) => email.requestVerification(viewerOf(ctx), ctx.meta),
      verifyEmail: (_parent, { token }, ctx) => email.verifyEmail(token, ctx.meta),
      requestPasswordReset: (_parent, args, ctx) => email.requestPasswordReset(args.email, ctx.meta),
      resetPassword: (_parent, { token, newPassword }, ctx) => email.resetPassword(token, newPassword, ctx.meta),
    },
  };
}
