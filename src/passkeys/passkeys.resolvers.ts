import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { PasskeyService } from './passkey.service.js';

/** Passkeys: each resolver reads its arguments and calls one service method. */
export function passkeyResolvers(passkeys: PasskeyService): Resolvers {
  return {
    Mutation: {
      startPasskeyRegistration: (_parent, _args, ctx) => passkeys.startRegistration(viewerOf(ctx), ctx.meta),
      finishPasskeyRegistration: (_parent, { response, name }, ctx) => passkeys.finishRegistration(viewerOf(ctx), response, name ?? null, ctx.meta),
      renamePasskey: (_parent, { id, name }, ctx) => passkeys.rename(viewerOf(ctx), id, name, ctx.meta),
      deletePasskey: (_parent, { id }, ctx) => passkeys.remove(viewerOf(ctx), id, ctx.meta),
      startPasskeyLogin: (_parent, { username }, ctx) => passkeys.startLogin(username ?? null, ctx.meta),
      finishPasskeyLogin: (_parent, { response }, ctx) => passkeys.finishLogin(response, ctx.meta),
    },
    User: {
      passkeys: (user) => passkeys.list(user.id),
    },
    Passkey: {
      transports: (passkey) => [...passkey.transports],
    },
  };
}
