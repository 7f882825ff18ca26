import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { SignInService } from './sign-in.service.js';

/** Signing in and the password: each resolver reads its arguments and calls one service method. */
export function signInResolvers(signIn: SignInService): Resolvers {
  return {
    Query: {
      protected: (_parent, _args, ctx) => viewerOf(ctx).user,
    },
    Mutation: {
      signup: (_parent, { username, password, email }, ctx) => signIn.signup(username, password, ctx.meta, email ?? null),
      login: (_parent, { username, password }, ctx) => signIn.login(username, password, ctx.meta),
      verifyMfa: (_parent, { mfaToken, code }, ctx) => signIn.verifyMfa(mfaToken, code, ctx.meta),
      changePassword: (_parent, { currentPassword, newPassword }, ctx) => signIn.changePassword(viewerOf(ctx), currentPassword, newPassword, ctx.meta),
    },
    Protected: {
      loggedInAs: (user) => user.username,
    },
  };
}
