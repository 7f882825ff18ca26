import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ParseOptions, ValidationRule } from 'graphql';
import type { Config } from '../config/config.js';

/** The limits every GraphQL document meets, over HTTP and WebSocket alike. */
export interface QueryLimits {
  /** Added to graphql-js's specified rules: depth, aliases, directives and cost. */
  readonly validationRules: readonly ValidationRule[];
  /** graphql-js's own parser limit on tokens, so nothing is parsed twice. */
  readonly parseOptions: ParseOptions;
}

/**
 * Query limits, checked once per distinct document: depth, aliases,
 * directives and cost by GraphQL Armor's validation rules; tokens by
 * graphql-js's parser. Built once and run for both transports by
 * graphql/operation-pipeline.ts, so both refuse the same documents.
 */
export function createQueryLimits(config: Pick<Config, 'queryLimits'>): QueryLimits {
  const { queryLimits } = config;
  const armor = new ApolloArmor({
    maxDepth: { n: queryLimits.maxDepth },
    maxAliases: { n: queryLimits.maxAliases },
    costLimit: { maxCost: queryLimits.maxCost },
    maxDirectives: { n: 50 },
    maxTokens: { enabled: false },
    // Suggestions follow the introspection setting instead (hideSchemaDetailsFromClientErrors).
    blockFieldSuggestion: { enabled: false },
  }).protect(); // with tokens and suggestions handled elsewhere, Armor needs no plugin, only validation rules
  return {
    validationRules: armor.validationRules as ValidationRule[],
    parseOptions: { maxTokens: queryLimits.maxTokens },
  };
}
