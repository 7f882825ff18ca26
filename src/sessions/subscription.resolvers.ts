import type { SessionEvent } from './session-events.js';
import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';

/**
 * Live events over graphql-ws. Only `subscribe` is given (no `resolve`): the
 * permission middleware then guards `subscribe` itself, so a refused caller
 * never gets a stream.
 */
export const subscriptionResolvers: Resolvers = {
  Subscription: {
    sessionEvents: {
      subscribe: (_parent, _args, ctx) => payloads(ctx.services.sessionEvents.subscribe(viewerOf(ctx).user.id), (sessionEvents) => ({ sessionEvents })),
    },
  },
};

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

export type { SessionEvent };
