import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Histogram } from 'prom-client';

/** The label of every request that is not one known root field. */
export const OTHER_OPERATION = 'other';

/** The root field names of the schema's Query, Mutation and Subscription types: the only `operation` label values besides `other`. */
export function rootFieldNames(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>();
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (type) for (const name of Object.keys(type.getFields())) names.add(name);
  }
  return names;
}

/**
 * The `operation` label of a request. The client's operationName is never
 * used: a client may send a million different ones, and each label value is
 * a series held for the life of the process. The label is the root field of
 * an operation selecting exactly one field of the schema (`login`, `me`),
 * so the series are bounded by the schema; anything else (several root
 * fields, fragments at the root, introspection, a document that did not
 * parse or validate) is `other`.
 */
export function graphqlOperationLabel(operation: OperationDefinitionNode | undefined, known: ReadonlySet<string>): string {
  const selections = operation?.selectionSet.selections;
  if (selections?.length !== 1) return OTHER_OPERATION;
  const [only] = selections;
  if (only?.kind !== Kind.FIELD) return OTHER_OPERATION;
  return known.has(only.name.value) ? only.name.value : OTHER_OPERATION;
}

/** Times every GraphQL request into the `tokengate_graphql_request_duration_seconds` histogram. */
export function metricsPlugin(histogram: Histogram<'operation'>): ApolloServerPlugin {
  let known: ReadonlySet<string> = new Set();
  return {
    async serverWillStart({ schema }) {
      known = rootFieldNames(schema);
    },
    async requestDidStart() {
      const stop = histogram.startTimer();
      let label = OTHER_OPERATION;
      return {
        async didResolveOperation({ operation }) {
          label = graphqlOperationLabel(operation, known);
        },
        async willSendResponse() {
          stop({ operation: label });
        },
      };
    },
  };
}
