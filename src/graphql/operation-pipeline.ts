import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Logger } from '../platform/logger.js';
import type { AuthTraceEntry, GraphQLContext } from './context.js';
import { formatError, isExpectedError } from './format-error.js';
import type { QueryLimits } from './query-limits.js';

/** What the pipeline is built from. */
export interface OperationPipelineOptions {
  readonly schema: GraphQLSchema;
  readonly queryLimits: QueryLimits;
  /** INTROSPECTION: when off, introspection is refused and "Did you mean …" suggestions are hidden. */
  readonly introspection: boolean;
  readonly logger: Logger;
  /** AUTH_TRACE: each answer carries its context's `authTrace` as `extensions.authTrace`. */
  readonly authTrace?: boolean;
}

/** The Apollo Server options that run the pipeline over HTTP (spread into `new ApolloServer`). */
export interface PipelineApolloOptions {
  readonly schema: GraphQLSchema;
  readonly parseOptions: ParseOptions;
  readonly validationRules: ValidationRule[];
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly introspection: boolean;
  readonly hideSchemaDetailsFromClientErrors: boolean;
}

/** A document ready to execute, or the errors that refused it (already coded as Apollo codes them). */
export type PreparedOperation =
  | { readonly ok: true; readonly document: DocumentNode; readonly operation: OperationDefinitionNode }
  | { readonly ok: false; readonly errors: readonly GraphQLError[] };

/** Where an error happened, for the log. */
export interface ErrorSource {
  readonly operationName?: string | null | undefined;
  readonly requestId?: string | undefined;
}

/**
 * One operation pipeline for both transports: parse options, validation
 * rules, error formatting, unexpected-error logging and suggestion hiding.
 * HTTP runs it inside Apollo (`apolloOptions`, `apolloPlugin`); the WebSocket
 * transport, which executes with graphql-js itself, calls `prepare` and
 * `formatErrors`. Both read the same limits and the same introspection
 * setting from here, so neither transport restates the other's rules.
 */
export interface OperationPipeline {
  readonly apolloOptions: PipelineApolloOptions;
  /** Logs every unexpected error of an HTTP request (Apollo formats after this, with `apolloOptions.formatError`). */
  readonly apolloPlugin: ApolloServerPlugin<GraphQLContext>;
  /** Parses, validates and picks the operation, as Apollo does before it executes. */
  prepare(query: string, operationName: string | null | undefined): PreparedOperation;
  /** What a client is shown of errors met outside Apollo: each unexpected one logged, then formatted and stripped of suggestions. */
  formatErrors(errors: readonly GraphQLError[], source: ErrorSource): GraphQLFormattedError[];
  /**
   * With AUTH_TRACE on, the decisions recorded since the last call (each is
   * taken once: a subscription's events each carry their own); null when off.
   */
  takeAuthTrace(context: GraphQLContext): AuthTraceEntry[] | null;
}

/** Builds the pipeline once per app. */
export function createOperationPipeline(options: OperationPipelineOptions): OperationPipeline {
  const { schema, queryLimits, introspection, logger } = options;
  const takeAuthTrace = (context: GraphQLContext): AuthTraceEntry[] | null =>
    options.authTrace && context.authTrace !== undefined ? context.authTrace.splice(0, context.authTrace.length) : null;
  const hideSuggestions = !introspection;
  // Apollo adds graphql-js's specified rules, and its own NoIntrospection rule
  // when `introspection` is false; outside Apollo both are added here. The two
  // introspection rules refuse the same fields with the same code
  // (GRAPHQL_VALIDATION_FAILED); only their message differs, as it did before.
  const rules: readonly ValidationRule[] = [...specifiedRules, ...queryLimits.validationRules, ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];

  const logUnexpected = (errors: readonly GraphQLError[], source: ErrorSource) => {
    for (const error of errors) {
      if (isExpectedError(error)) continue;
      logger.error({ err: error.originalError ?? error, path: error.path, operationName: source.operationName, requestId: source.requestId }, 'unexpected error');
    }
  };

  return {
    apolloOptions: {
      schema,
      parseOptions: queryLimits.parseOptions,
      validationRules: [...queryLimits.validationRules],
      formatError,
      introspection,
      // "Did you mean …" suggestions describe the schema: hidden wherever introspection is.
      hideSchemaDetailsFromClientErrors: hideSuggestions,
    },
    apolloPlugin: {
      async requestDidStart() {
        return {
          async didEncounterErrors({ errors, contextValue, operationName }) {
            logUnexpected(errors, { operationName, requestId: contextValue.meta?.requestId });
          },
          ...(options.authTrace
            ? {
                async willSendResponse({ response, contextValue }) {
                  const authTrace = takeAuthTrace(contextValue);
                  if (authTrace === null || response.body.kind !== 'single') return;
                  response.body.singleResult.extensions = { ...response.body.singleResult.extensions, authTrace };
                },
              }
            : {}),
        };
      },
    },
    prepare(query, operationName) {
      let document: DocumentNode;
      try {
        document = parse(query, queryLimits.parseOptions);
      } catch (error) {
        return { ok: false, errors: [withCode(error, 'GRAPHQL_PARSE_FAILED')] };
      }
      const invalid = validate(schema, document, rules);
      if (invalid.length > 0) return { ok: false, errors: invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) };
      const operation = getOperationAST(document, operationName);
      if (operation === null || operation === undefined) return { ok: false, errors: [withCode(new GraphQLError('Unable to identify the operation.'), 'BAD_REQUEST')] };
      return { ok: true, document, operation };
    },
    takeAuthTrace,
    formatErrors(errors, source) {
      logUnexpected(errors, source);
      return errors.map((error) => {
        const formatted = formatError(error.toJSON(), error);
        return hideSuggestions ? { ...formatted, message: withoutSuggestions(formatted.message) } : formatted;
      });
    },
  };
}

/** The message without graphql-js's "Did you mean …?" tail (the pattern Apollo's DisableSuggestions plugin uses). */
function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/** The error as Apollo reports a request-level failure: its locations kept, `extensions.code` set. */
function withCode(error: unknown, code: string): GraphQLError {
  const base = error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error));
  return new GraphQLError(base.message, {
    ...(base.nodes ? { nodes: base.nodes } : {}),
    ...(base.source ? { source: base.source } : {}),
    ...(base.positions ? { positions: base.positions } : {}),
    extensions: { ...base.extensions, code },
  });
}
