import { randomUUID } from 'node:crypto';
import { GraphQLError, subscribe, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { ExecutionResult, ServerOptions } from 'graphql-ws';
import type { ContextInput, GraphQLContext } from '../../graphql/context.js';
import type { OperationPipeline } from '../../graphql/operation-pipeline.js';
import type { Extra } from './connection.js';

/** What running an operation needs. */
export interface OperationsDeps {
  readonly schema: GraphQLSchema;
  /** The pipeline HTTP's Apollo runs too: parse options, rules, formatting, logging. */
  readonly pipeline: OperationPipeline;
  /** The same context builder as HTTP: it verifies the token and checks the session. */
  readonly buildContext: (input: ContextInput) => Promise<GraphQLContext>;
}

/** graphql-ws's hooks for one operation, from `subscribe` to `complete`. */
export type OperationHooks = Required<Pick<ServerOptions<Record<string, unknown>, Extra>, 'onSubscribe' | 'subscribe' | 'onNext' | 'onError' | 'onComplete'>>;

/**
 * Subscribe and execute of one operation on a socket: the shared pipeline
 * prepares the document, each operation gets a fresh context from the
 * socket's credential (its session and roles as they are now), and every
 * error a client sees is formatted as over HTTP.
 */
export function createOperationHooks(deps: OperationsDeps): OperationHooks {
  /** Subscription source streams made in onSubscribe (to answer a refusal with an `error` message), handed to graphql-ws. */
  const sourceStreams = new WeakMap<ExecutionArgs, AsyncIterable<ExecutionResult>>();
  return {
    onSubscribe: async (ctx, id, payload) => {
      const conn = ctx.extra.connection;
      const prepared = deps.pipeline.prepare(payload.query, payload.operationName);
      if (!prepared.ok) return prepared.errors;
      const contextValue = await deps.buildContext({ credential: conn.credential, meta: { ...conn.meta, requestId: randomUUID() } });
      const args: ExecutionArgs = {
        schema: deps.schema,
        document: prepared.document,
        operationName: payload.operationName ?? null,
        variableValues: payload.variables ?? null,
        contextValue,
      };
      if (prepared.operation.operation !== 'subscription') {
        conn.operationStarted(id);
        return args;
      }
      // Subscribing here rather than in graphql-ws lets a refused subscription (a shield
      // rule on the field) answer with an `error` message, as the contract says, instead
      // of a `next` carrying errors.
      const stream = await subscribe(args);
      if (!isAsyncIterable(stream)) return stream.errors && stream.errors.length > 0 ? [...stream.errors] : [new GraphQLError('The subscription did not start.')];
      sourceStreams.set(args, stream);
      return args;
    },
    subscribe: (args) => sourceStreams.get(args) ?? subscribe(args),
    onComplete: (ctx, id) => ctx.extra.connection.operationEnded(id),
    onNext: (_ctx, _id, payload, args, result) => {
      const context = args.contextValue as GraphQLContext;
      const formatted = result.errors
        ? { ...result, errors: deps.pipeline.formatErrors(result.errors, { operationName: payload.operationName, requestId: context.meta.requestId }) }
        : undefined;
      const authTrace = deps.pipeline.takeAuthTrace(context);
      return authTrace === null ? formatted : { ...(formatted ?? result), extensions: { ...result.extensions, authTrace } };
    },
    onError: (_ctx, _id, payload, errors) => deps.pipeline.formatErrors(errors, { operationName: payload.operationName }),
  };
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
