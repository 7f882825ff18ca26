import { requirements, type Requirements } from '../graphql/generated/requirements.js';

/*
 * Each root field's requirement (signed in / role / fresh token), shown in
 * the explorer's docs and hovers. The data is generated from the schema's
 * directives (src/graphql/generated/requirements.ts, plain data), so the
 * page says exactly what the server enforces.
 */

/** What a field needs of its caller; `{}` is public. */
export type FieldRequirement = Requirements;

/** Root type name (`Query`, `Mutation`, `Subscription`) → field name → requirement. */
export type RequirementMap = Readonly<Record<string, Readonly<Record<string, FieldRequirement>>>>;

/** The map the explorer shows. */
export const fieldRequirements: RequirementMap = requirements;

/** A short line for people, e.g. "signed in · role ADMIN · API key scope ADMIN_READ"; null for a field the map does not know. */
export function describeRequirement(requirement: FieldRequirement | undefined): string | null {
  if (requirement === undefined) return null;
  const parts: string[] = [];
  if (requirement.signedIn || requirement.role || requirement.fresh || requirement.self) parts.push('signed in');
  if (requirement.role) parts.push(`role ${requirement.role}`);
  if (requirement.fresh) parts.push('fresh token (straight from a password login)');
  if (requirement.self) parts.push('own record or ADMIN');
  // What an API key needs here; a root field without it refuses keys (not said: that is every field without one).
  const key = requirement.apiKey ? ` · API key scope ${requirement.apiKey}` : '';
  if (parts.length > 0) return parts.join(' · ') + key;
  return (requirement.signupOpen ? 'public, while sign-ups are open (SIGNUP_ENABLED)' : 'public: no sign-in needed') + key;
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
