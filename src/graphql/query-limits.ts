import { ApolloArmor } from '@escape.tech/graphql-armor';
import { NoSchemaIntrospectionCustomRule, type ParseOptions, type ValidationRule } from 'graphql';
import type { Config } from '../config/config.js';

/** The limits every GraphQL document meets, over HTTP and WebSocket alike. */
export interface QueryLimits {
  /** Added to graphql-js's specified rules: depth, aliases, directives and cost. */
  readonly validationRules: readonly ValidationRule[];
  /** graphql-js's own parser limit on tokens, so nothing is parsed twice. */
  readonly parseOptions: ParseOptions;
  /** Rules Apollo adds by itself over HTTP (introspection off), which the WebSocket transport must add too. */
  readonly transportRules: readonly ValidationRule[];
}

/**
 * Query limits, checked once per distinct document: depth, aliases,
 * directives and cost by GraphQL Armor's validation rules; tokens by
 * graphql-js's parser. Built once and shared by Apollo (HTTP) and graphql-ws
 * (WebSocket), so both transports refuse the same documents.
 */
export function createQueryLimits(config: Pick<Config, 'queryLimits' | 'introspection'>): QueryLimits {
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
    transportRules: config.introspection ? [] : [NoSchemaIntrospectionCustomRule],
  };
}
