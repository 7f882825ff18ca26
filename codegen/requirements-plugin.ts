import { isEnumType, type GraphQLSchema } from 'graphql';
import { deriveRequirements } from '../src/graphql/permissions.js';

/**
 * A local graphql-codegen plugin: writes what each Query/Mutation/Subscription
 * field needs (signed in, a fresh token, a role, ...) as plain data for
 * clients, read from the authorization directives in schema/ by the same
 * function the server derives its rule map with (src/graphql/permissions.ts),
 * so the published requirements cannot drift from the enforced ones. The
 * output imports nothing (no graphql, no node:), so browser code can import it.
 */
export function plugin(schema: GraphQLSchema): string {
  const requirements = deriveRequirements(schema);
  const roleType = schema.getType('Role');
  if (!isEnumType(roleType)) throw new Error('schema/ has no Role enum');
  const roles = roleType.getValues().map((value) => JSON.stringify(value.name));
  const scopeType = schema.getType('ApiScope');
  if (!isEnumType(scopeType)) throw new Error('schema/ has no ApiScope enum');
  const scopes = scopeType.getValues().map((value) => JSON.stringify(value.name));
  return [
    '/** What a field needs from the caller; `{}` means anyone may call it. */',
    'export interface Requirements {',
    '  /** A valid access token of an active session (else UNAUTHENTICATED, with `reason`). */',
    '  readonly signedIn?: true;',
    '  /** An access token straight from a password login, not from a refresh (else FRESH_TOKEN_REQUIRED). */',
    '  readonly fresh?: true;',
    '  /** A role the caller must hold (else FORBIDDEN). */',
    '  readonly role?: Role;',
    '  /** Only on the caller\'s own user, or as an ADMIN (else FORBIDDEN). */',
    '  readonly self?: true;',
    '  /** Only while the server accepts sign-ups (else FORBIDDEN). */',
    '  readonly signupOpen?: true;',
    '  /** The scope an API key must hold to call it (`@apiKey`); absent: API keys are refused (FORBIDDEN, reason API_KEY). */',
    '  readonly apiKey?: ApiScope;',
    '}',
    '',
    `export type Role = ${roles.join(' | ')};`,
    '',
    `export type ApiScope = ${scopes.join(' | ')};`,
    '',
    '/** The requirements of every field of the root types, by type and field name. */',
    'export interface OperationRequirements {',
    '  readonly Query: Readonly<Record<string, Requirements>>;',
    '  readonly Mutation: Readonly<Record<string, Requirements>>;',
    '  readonly Subscription: Readonly<Record<string, Requirements>>;',
    '}',
    '',
    '/** What each operation field needs, from the directives beside it in schema/. */',
    `export const requirements = ${JSON.stringify(requirements, null, 2)} as const satisfies OperationRequirements;`,
    '',
  ].join('\n');
}
