import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import type { CookieTransport, RequestCookies } from '../graphql/context.js';

/*
 * The cookie transport of docs/api.md, "Cookie transport for browsers":
 * reading tg_refresh / tg_csrf / X-CSRF-Token from a request, and writing the
 * Set-Cookie headers of its answer. Only transport syntax lives here; whether
 * a refresh token or a CSRF value is good is decided by auth/ and tokens/.
 */

/** The HttpOnly cookie that carries the refresh token. */
export const REFRESH_COOKIE = 'tg_refresh';
/** The readable cookie whose value the client echoes in X-CSRF-Token. */
export const CSRF_COOKIE = 'tg_csrf';
/** The request header that must equal the tg_csrf cookie on a cookie refresh. */
export const CSRF_HEADER = 'x-csrf-token';

/** What every request's cookie transport shares. */
export interface CookieTransportOptions {
  readonly secure: boolean;
  /** The session's CSRF token (tokens/csrf-token.ts, keyed by the server). */
  readonly csrfFor: (sessionId: string) => string;
  readonly now: () => number;
}

/** Builds the cookie transport of one request from its Cookie and X-CSRF-Token headers. */
export function createCookieTransport(
  options: CookieTransportOptions,
  cookieHeader: string | undefined,
  csrfHeader: string | string[] | undefined,
): CookieTransport & { readonly setCookies: readonly string[] } {
  const jar = cookieHeader ? parseCookie(cookieHeader) : {};
  const setCookies: string[] = [];
  const write = (name: string, value: string, maxAge: number, attributes: Partial<SetCookie>) => {
    // Replaces an earlier value for the same cookie in this answer (e.g. logout after refresh in one document).
    const at = setCookies.findIndex((header) => header.startsWith(`${name}=`));
    const header = stringifySetCookie({ name, value, maxAge, sameSite: 'strict', secure: options.secure, ...attributes });
    if (at === -1) setCookies.push(header);
    else setCookies[at] = header;
  };
  return {
    credential: {
      refreshToken: jar[REFRESH_COOKIE] || undefined,
      csrfCookie: jar[CSRF_COOKIE] || undefined,
      csrfHeader: typeof csrfHeader === 'string' && csrfHeader !== '' ? csrfHeader : undefined,
    },
    issue({ refreshToken, sessionId, expiresAt }) {
      const maxAge = Math.max(0, Math.floor((expiresAt - options.now()) / 1000));
      // HttpOnly and scoped to /graphql: script cannot read it, and it rides only on API calls.
      write(REFRESH_COOKIE, refreshToken, maxAge, { httpOnly: true, path: '/graphql' });
      // Readable on purpose: the app proves it runs on a permitted origin by echoing it in X-CSRF-Token.
      write(CSRF_COOKIE, options.csrfFor(sessionId), maxAge, { path: '/' });
    },
    clear() {
      write(REFRESH_COOKIE, '', 0, { httpOnly: true, path: '/graphql' });
      write(CSRF_COOKIE, '', 0, { path: '/' });
    },
    setCookies,
  };
}

/** A request's own cookies and the Set-Cookie headers its answer adds (any feature's, e.g. social sign-in's browser binding). */
export function createRequestCookies(cookieHeader: string | undefined, secure: boolean): RequestCookies & { readonly setCookies: readonly string[] } {
  // Parsed on first use: most requests never ask.
  let jar: Record<string, string | undefined> | null = null;
  const setCookies: string[] = [];
  return {
    get(name) {
      jar ??= cookieHeader ? parseCookie(cookieHeader) : {};
      return jar[name] || undefined;
    },
    set(cookie) {
      setCookies.push(stringifySetCookie({ name: cookie.name, value: cookie.value, maxAge: cookie.maxAge, path: cookie.path, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, secure }));
    },
    setCookies,
  };
}
