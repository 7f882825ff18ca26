import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema, type IExecutableSchemaDefinition } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { applyCookieTransport } from './cookie-fields.js';
import type { Feature, ResolverMap } from '../core/feature.js';
import { createPermissions, type PermissionOptions } from './permissions.js';
import { DateTimeScalar, JSONObjectScalar } from './resolvers/scalars.js';

/** The SDL files every schema has: the root types and the authorization directives. */
const CORE_SDL = ['base.graphql', 'directives.graphql'];

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
  return sdlFiles().map((name) => readFileSync(SCHEMA_DIR + name, 'utf8'));
}

function sdlFiles(): string[] {
  return readdirSync(SCHEMA_DIR)
    .filter((name) => name.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
}

/**
 * The executable schema with the permission layer applied, its rules derived
 * from the directives in the SDL: every SDL file of schema/ with the
 * features' resolvers. An SDL file no feature owns refuses to start (a
 * feature's types must not appear without it). `extra` lets tests add fields
 * (with or without a directive) to prove how they are decided.
 */
export function buildSchema(
  extra?: { typeDefs: string; resolvers: ResolverMap },
  features: readonly Pick<Feature, 'name' | 'schema' | 'resolvers'>[] = [],
  permissions: PermissionOptions = {},
): GraphQLSchema {
  if (features.length > 0) {
    const owned = new Set([...CORE_SDL, ...features.flatMap((f) => f.schema ?? [])]);
    const orphans = sdlFiles().filter((name) => !owned.has(name));
    if (orphans.length > 0) throw new Error(`schema/${orphans.join(', schema/')} belongs to no feature: list it in its feature's schema`);
  }
  const resolvers: ResolverMap[] = [{ DateTime: DateTimeScalar, JSONObject: JSONObjectScalar }, ...features.flatMap((f) => (f.resolvers ? [f.resolvers] : [])), ...(extra ? [extra.resolvers] : [])];
  const schema = makeExecutableSchema({
    typeDefs: [...loadTypeDefs(), ...(extra ? [extra.typeDefs] : [])],
    resolvers: resolvers as IExecutableSchemaDefinition['resolvers'],
  });
  return applyMiddleware(applyCookieTransport(schema), ...createPermissions(schema, permissions));
}
