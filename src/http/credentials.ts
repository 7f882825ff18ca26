import type { Credential } from '../graphql/context.js';

export type { Credential };

const NONE: Credential = Object.freeze({ kind: 'none' });
const MALFORMED: Credential = Object.freeze({ kind: 'malformed' });

/**
 * Parses an Authorization header value: `none` when the header is absent,
 * `malformed` when it is present but neither `Bearer <jwt>` nor
 * `Bearer tg_pat_…` (scheme case-insensitive), else the bearer token or
 * API key. Transport syntax lives here; what the token means is decided by
 * tokens/, sessions/ and api-keys/.
 */
export function parseBearer(header: string | undefined): Credential {
  if (header === undefined) return NONE;
  const token = /^bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i.exec(header)?.[1];
  if (token !== undefined) return { kind: 'bearer', token };
  // An API key: `tg_pat_` and 36 base62 characters (its checksum is checked by api-keys/, before any lookup).
  const key = /^bearer[ ]+(tg_pat_[0-9A-Za-z]{36})[ ]*$/i.exec(header)?.[1];
  return key === undefined ? MALFORMED : { kind: 'api_key', key };
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
