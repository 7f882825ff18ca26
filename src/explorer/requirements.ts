import { interimRequirements } from './requirements.interim.js';

/*
 * Each root field's requirement (signed in / role / fresh token), shown in
 * the explorer's docs and hovers. The adapter keeps one shape for the page,
 * whatever module supplies the data (see requirements.interim.ts).
 */

/** What a field needs of its caller; absent flags are false. */
export interface FieldRequirement {
  readonly public?: boolean;
  readonly signedIn?: boolean;
  /** A token straight from a password login (or signup, or verifyMfa). */
  readonly fresh?: boolean;
  readonly role?: string;
  /** Only on the caller's own record. */
  readonly self?: boolean;
}

/** Root type name (`Query`, `Mutation`, `Subscription`) → field name → requirement. */
export type RequirementMap = Readonly<Record<string, Readonly<Record<string, FieldRequirement>>>>;

/** The map the explorer shows. */
export const fieldRequirements: RequirementMap = interimRequirements;

/** A short line for people, e.g. "signed in · role ADMIN · fresh token"; null for a field the map does not know. */
export function describeRequirement(requirement: FieldRequirement | undefined): string | null {
  if (requirement === undefined) return null;
  const parts: string[] = [];
  if (requirement.signedIn || requirement.role || requirement.fresh || requirement.self) parts.push('signed in');
  if (requirement.role) parts.push(`role ${requirement.role}`);
  if (requirement.fresh) parts.push('fresh token (straight from a password login)');
  if (requirement.self) parts.push('own record only');
  return parts.length === 0 ? 'public: no sign-in needed' : parts.join(' · ');
}

interface IntrospectionField {
  name: string;
  description?: string | null;
}
interface IntrospectionType {
  name: string;
  fields?: IntrospectionField[] | null;
}
interface IntrospectionSchema {
  queryType?: { name: string } | null;
  mutationType?: { name: string } | null;
  subscriptionType?: { name: string } | null;
  types: IntrospectionType[];
}

/**
 * Prefixes each root field's description in an introspection result with its
 * requirement, so GraphiQL's docs and the editor's hover show it. Returns the
 * result unchanged when it is not an introspection answer.
 */
export function annotateIntrospection<T>(result: T, map: RequirementMap = fieldRequirements): T {
  const schema = (result as { data?: { __schema?: IntrospectionSchema } } | null)?.data?.__schema;
  if (!schema || !Array.isArray(schema.types)) return result;
  const roots: Array<[string | undefined, string]> = [
    [schema.queryType?.name, 'Query'],
    [schema.mutationType?.name, 'Mutation'],
    [schema.subscriptionType?.name, 'Subscription'],
  ];
  for (const [typeName, root] of roots) {
    const type = typeName === undefined ? undefined : schema.types.find((t) => t.name === typeName);
    for (const field of type?.fields ?? []) {
      const line = describeRequirement(map[root]?.[field.name]);
      if (line === null) continue;
      const badge = `**Requires:** ${line}`;
      field.description = field.description ? `${badge}\n\n${field.description}` : badge;
    }
  }
  return result;
}
