import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { SessionEventFeed } from './session-events.js';
import type { TokenService } from './token.service.js';

/** The caller's sessions and their tokens: each resolver reads its arguments and calls one service method. */
export function sessionResolvers(tokens: TokenService, sessionEvents: SessionEventFeed): Resolvers {
  return {
    Query: {
      mySessions: (_parent, _args, ctx) => tokens.listSessions(viewerOf(ctx)),
    },
    Mutation: {
      // Without the argument, the tg_refresh cookie (cookie mode; see http/cookies.ts).
      refreshToken: (_parent, { refreshToken }, ctx) =>
        refreshToken != null ? tokens.refresh(refreshToken, ctx.meta) : tokens.refreshWithCookie(ctx.cookies?.credential ?? null, ctx.meta),
      logout: (_parent, _args, ctx) => tokens.logout(viewerOf(ctx), ctx.meta),
      logoutAll: (_parent, _args, ctx) => tokens.logoutAll(viewerOf(ctx), ctx.meta),
      revokeSession: (_parent, { id }, ctx) => tokens.revokeSession(viewerOf(ctx), id, ctx.meta),
    },
    Session: {
      current: (session, _args, ctx) => session.id === ctx.viewer?.sessionId,
    },
    Subscription: {
      /*
       * Live events over graphql-ws. Only `subscribe` is given (no `resolve`): the
       * permission middleware then guards `subscribe` itself, so a refused caller
       * never gets a stream.
       */
      sessionEvents: {
        subscribe: (_parent, _args, ctx) => payloads(sessionEvents.subscribe(viewerOf(ctx).user.id), (event) => ({ sessionEvents: event })),
      },
    },
  };
}

/**
 * Maps a stream's values. Not an async generator: one suspended on its source
 * would only see `return()` at the next event, keeping a finished
 * subscription's listener alive until then.
 */
function payloads<T, U>(source: AsyncIterableIterator<T>, map: (value: T) => U): AsyncIterableIterator<U> {
  return {
    async next() {
      const result = await source.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: map(result.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
