import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

type Maybe<T> = T | null | undefined;
type ObjMap<T> = Record<string, T>;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function parseIso(value: unknown): string {
  if (typeof value === 'string' && ISO_UTC.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new GraphQLError('DateTime must be an ISO 8601 UTC string such as 2026-11-28T10:15:00.000Z.', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/** `DateTime`: an ISO 8601 UTC string on the wire, a Date (or ISO string) inside. */
export const DateTimeScalar = new GraphQLScalarType<Date | string, string>({
  name: 'DateTime',
  description: 'An ISO 8601 date-time in UTC.',
  serialize: (value) => {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new Error('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: parseIso,
  parseLiteral: (ast) => parseIso(ast.kind === Kind.STRING ? ast.value : null),
});

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectFromLiteral(ast: ValueNode, variables: Maybe<ObjMap<unknown>>): unknown {
  switch (ast.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((field) => [field.name.value, objectFromLiteral(field.value, variables)]));
    case Kind.LIST:
      return ast.values.map((value) => objectFromLiteral(value, variables));
    case Kind.VARIABLE:
      return variables ? variables[ast.name.value] : undefined;
    case Kind.NULL:
      return null;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.STRING:
    case Kind.ENUM:
      return ast.value;
    case Kind.BOOLEAN:
      return ast.value;
  }
}

function parseObject(value: unknown): Record<string, unknown> {
  if (isPlainObject(value)) return value;
  throw new GraphQLError('JSONObject must be a JSON object.', { extensions: { code: 'BAD_USER_INPUT' } });
}

/** `JSONObject`: a JSON object (graphql-scalars' meaning), e.g. WebAuthn options and responses, audit details. */
export const JSONObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: 'JSONObject',
  description: 'A JSON object.',
  serialize: (value) => {
    if (!isPlainObject(value)) throw new Error('JSONObject cannot represent a non-object value');
    return value;
  },
  parseValue: parseObject,
  parseLiteral: (ast, variables) => parseObject(objectFromLiteral(ast, variables)),
});
