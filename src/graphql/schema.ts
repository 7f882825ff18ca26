import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema, type IExecutableSchemaDefinition } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { createPermissions } from './permissions.js';
import { resolvers } from './resolvers/index.js';

type Resolvers = Record<string, Record<string, unknown>>;

/**
 * The folder of .graphql files: the nearest `schema/` above this module, so it
 * is found from src/graphql, dist/graphql and a bundled dist/ alike.
 */
const SCHEMA_DIR = findSchemaDir(path.dirname(fileURLToPath(import.meta.url)));

function findSchemaDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'schema');
    if (existsSync(path.join(candidate, 'base.graphql'))) return candidate + path.sep;
    if (path.dirname(dir) === dir) throw new Error(`no schema/base.graphql above ${from}`);
  }
}

/** Reads every SDL file of schema/, base first. */
export function loadTypeDefs(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((name) => name.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)))
    .map((name) => readFileSync(SCHEMA_DIR + name, 'utf8'));
}

/**
 * The executable schema with the permission layer applied, its rules derived
 * from the directives in the SDL. `extra` lets tests add fields (with or
 * without a directive) to prove how they are decided.
 */
export function buildSchema(extra?: { typeDefs: string; resolvers: Resolvers }): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: [...loadTypeDefs(), ...(extra ? [extra.typeDefs] : [])],
    resolvers: [resolvers, ...(extra ? [extra.resolvers] : [])] as IExecutableSchemaDefinition['resolvers'],
  });
  return applyMiddleware(schema, createPermissions(schema));
}
