import type { GraphQLFormattedError } from 'graphql';
import { AppError, ErrorCode } from '../errors.js';

/** Codes Apollo Server itself assigns to request-level problems; passed through as the contract says. */
const APOLLO_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * The error at the bottom of graphql-js's and Apollo's wrapping. Follows
 * `originalError` rather than relying on instanceof GraphQLError, which fails
 * when two copies of graphql are loaded (its CommonJS and ES module builds).
 */
function unwrapResolverError(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const inner = typeof current === 'object' && current !== null ? (current as { originalError?: unknown }).originalError : undefined;
    if (inner === undefined || inner === null) return current;
    current = inner;
  }
  return current;
}

/** Whether an error is one we expected (and so shows to clients as is). */
export function isExpectedError(error: unknown): boolean {
  const cause = unwrapResolverError(error);
  if (cause instanceof AppError) return true;
  const code = formattedCode(error);
  return typeof code === 'string' && APOLLO_CODES.has(code);
}

function formattedCode(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || !('extensions' in error)) return undefined;
  const extensions = (error as { extensions?: Record<string, unknown> }).extensions;
  return extensions?.code;
}

/**
 * The one formatError. An AppError shows its public message, code and extras;
 * Apollo's own request errors keep their code; anything else is a bug, logged
 * by the error-logging plugin and shown only as INTERNAL_SERVER_ERROR, with no
 * message, stack, SQL or path detail from the original.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const cause = unwrapResolverError(error);
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (cause instanceof AppError) {
    return { message: cause.message, ...where, extensions: { code: cause.code, ...cause.extras } };
  }
  const code = formattedCode(formatted);
  if (typeof code === 'string' && APOLLO_CODES.has(code)) {
    return { message: formatted.message, ...where, extensions: { code } };
  }
  return { message: 'Internal server error.', ...where, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
