/**
 * Extracts the token from an Authorization header value. Returns null when the
 * header is absent, or 'malformed' when it is present but not `Bearer <jwt>`
 * (scheme case-insensitive). Transport syntax lives here; what the token
 * means is decided by tokens/ and sessions/.
 */
export function parseBearer(header: string | undefined): string | null | 'malformed' {
  if (header === undefined) return null;
  const match = /^bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)[ ]*$/i.exec(header);
  return match?.[1] ?? 'malformed';
}
