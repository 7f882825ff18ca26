import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { graphqlOperationLabel, metricsPlugin, rootFieldNames } from '../../src/graphql/metrics-plugin.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { createMetrics } from '../../src/platform/metrics.js';

const schema = buildSchema();
const known = rootFieldNames(schema);

function operation(source: string): OperationDefinitionNode {
  return parse(source).definitions[0] as OperationDefinitionNode;
}

describe('the operation label', () => {
  it('is the root field of a one-field operation of the schema, and "other" for anything else', () => {
    expect(graphqlOperationLabel(operation('mutation Anything { login(username: "a", password: "b") { accessToken } }'), known)).toBe('login');
    expect(graphqlOperationLabel(operation('query { renamed: me { id } }'), known)).toBe('me');
    expect(graphqlOperationLabel(operation('{ me { id } mySessions { id } }'), known)).toBe('other');
    expect(graphqlOperationLabel(operation('{ notAField }'), known)).toBe('other');
    expect(graphqlOperationLabel(operation('{ __schema { types { name } } }'), known)).toBe('other');
    expect(graphqlOperationLabel(operation('{ ...F } fragment F on Query { me { id } }'), known)).toBe('other');
    expect(graphqlOperationLabel(undefined, known)).toBe('other');
  });

  it('keeps the registry the same size through a million distinct operation names and unknown root fields', async () => {
    const metrics = createMetrics();
    const plugin = metricsPlugin(metrics.graphqlDuration);
    await plugin.serverWillStart!({ schema } as never);
    const me = operation('query Me { me { id } }');
    const run = async (op: OperationDefinitionNode, operationName: string) => {
      const listener = (await plugin.requestDidStart!({ request: { operationName } } as never))!;
      await listener.didResolveOperation!({ operation: op, operationName } as never);
      await listener.willSendResponse!({} as never);
    };
    await run(me, 'warm-up');
    await run(operation('{ notAField }'), 'warm-up');
    const sizeBefore = (await metrics.registry.metrics()).length;

    for (let i = 0; i < 1_000_000; i++) {
      const name = `Client_${i}`;
      // Alternately a known field under a new name, and a root field that does not exist, named anew each time.
      const op = i % 2 === 0 ? me : { ...me, selectionSet: { kind: Kind.SELECTION_SET, selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: name } }] } };
      await run(op as OperationDefinitionNode, name);
    }
    const values = (await metrics.graphqlDuration.get()).values;
    expect(new Set(values.map((v) => v.labels.operation))).toEqual(new Set(['me', 'other']));
    const count = (operationLabel: string) => values.find((v) => v.metricName?.endsWith('_count') && v.labels.operation === operationLabel)?.value;
    expect(count('me')).toBe(500_001);
    expect(count('other')).toBe(500_001);
    // The text grows only by the digits of the counts and sums, never by series.
    expect((await metrics.registry.metrics()).length).toBeLessThan(sizeBefore + 200);
  }, 120_000);
});
