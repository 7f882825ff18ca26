import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * The CSRF token of cookie mode (docs/api.md, "Cookie transport for
 * browsers"): HMAC-SHA256 of the session id under a key of its own (derived
 * from JWT_SECRET with its own HKDF label), base64url. So it is chosen when
 * the session starts, keeps its value for the session's life (tabs refreshing
 * at once never race on it), needs nothing stored, and cannot be made up by
 * anyone without the key: a tg_csrf cookie planted by a sibling subdomain does
 * not match the session it claims to protect.
 */

/** The CSRF token of one session. */
export function csrfTokenFor(key: Buffer, sessionId: string): string {
  return createHmac('sha256', key).update(`csrf:${sessionId}`, 'utf8').digest('base64url');
}

/**
 * Compares two CSRF values in constant time. Both are hashed first, so the
 * comparison takes the same time whatever their lengths: neither the length
 * nor a common prefix of the expected value leaks through timing.
 */
export function sameCsrfToken(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}
