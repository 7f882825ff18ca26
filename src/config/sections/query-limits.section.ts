import { int } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Limits on one GraphQL document, checked before it runs. */
export interface QueryLimitsConfig {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxCost: number;
}

const fields = {
  GRAPHQL_MAX_DEPTH: int('GRAPHQL_MAX_DEPTH', 2, 100).prefault('10'),
  GRAPHQL_MAX_ALIASES: int('GRAPHQL_MAX_ALIASES', 0, 1_000).prefault('15'),
  GRAPHQL_MAX_TOKENS: int('GRAPHQL_MAX_TOKENS', 50, 100_000).prefault('1000'),
  GRAPHQL_MAX_COST: int('GRAPHQL_MAX_COST', 10, 1_000_000).prefault('5000'),
};

/** The GraphQL document limits, over HTTP and WebSocket alike. */
export const queryLimitsSection: ConfigSection<typeof fields, { readonly queryLimits: QueryLimitsConfig }> = {
  title: 'Query limits',
  notes: 'Checked before a document runs, over HTTP and WebSocket alike. See [Security](../operations/security.md).',
  fields,
  docs: {
    GRAPHQL_MAX_DEPTH: 'Deepest selection allowed (introspection excluded); 2–100.',
    GRAPHQL_MAX_ALIASES: 'Aliases per document; 0–1000.',
    GRAPHQL_MAX_TOKENS: 'Lexical tokens per document, checked while parsing; 50–100000.',
    GRAPHQL_MAX_COST: 'GraphQL Armor\'s cost estimate per document; 10–1000000.',
  },
  build: (e) => ({
    queryLimits: Object.freeze({ maxDepth: e.GRAPHQL_MAX_DEPTH, maxAliases: e.GRAPHQL_MAX_ALIASES, maxTokens: e.GRAPHQL_MAX_TOKENS, maxCost: e.GRAPHQL_MAX_COST }),
  }),
};
