import type { Credential } from '../graphql/context.js';

export type { Credential };

const NONE: Credential = Object.freeze({ kind: 'none' });
const MALFORMED: Credential = Object.freeze({ kind: 'malformed' });

/**
 * Parses an Authorization header value: `none` when the header is absent,
 * `malformed` when it is present but not `Bearer <jwt>` (scheme
 * case-insensitive), else the bearer token. Transport syntax lives here; what
 * the token means is decided by tokens/ and sessions/.
 */
export function parseBearer(header: string | undefined): Credential {
  if (header === undefined) return NONE;
  const match = /^bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i.exec(header);
  const token = match?.[1];
  return token === undefined ? MALFORMED : { kind: 'bearer', token };
}

/**
 * Parses the `authorization` entry of a graphql-ws `connection_init` payload
 * (key case-insensitive) as HTTP parses the header: no payload or no such
 * key is `none` (an anonymous connection); a value that is not a string is `malformed`.
 */
export function parseConnectionParams(params: Readonly<Record<string, unknown>> | null | undefined): Credential {
  if (params === undefined || params === null) return NONE;
  const key = Object.keys(params).find((name) => name.toLowerCase() === 'authorization');
  if (key === undefined) return NONE;
  const value = params[key];
  return typeof value === 'string' ? parseBearer(value) : MALFORMED;
}
