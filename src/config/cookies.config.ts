import { boolean } from './fields.js';

/** Cookie transport for browsers (../shared/API.md, "Cookie transport for browsers"). */
export interface CookiesConfig {
  /** REFRESH_TOKEN_COOKIE: the refresh token travels in an HttpOnly cookie, never in JavaScript's reach. */
  readonly refreshTokenCookie: boolean;
  /** COOKIE_SECURE: mark the cookies `Secure` (off only for plain-http development). */
  readonly secure: boolean;
}

/** The settings of this section, merged into loadConfig's schema. */
export const cookiesFields = {
  REFRESH_TOKEN_COOKIE: boolean('REFRESH_TOKEN_COOKIE').default(false),
  COOKIE_SECURE: boolean('COOKIE_SECURE').default(true),
};

/** Problems across settings, from the raw environment (so they are listed with every other problem). */
export function checkCookies(present: Readonly<Record<string, string>>): string[] {
  const on = ['true', '1', 'yes', 'on'].includes((present.REFRESH_TOKEN_COOKIE ?? '').trim().toLowerCase());
  const origins = (present.CORS_ORIGINS ?? '').split(',').map((o) => o.trim());
  // A credentialed answer to any origin would let every site on the web spend the cookie.
  if (on && origins.includes('*')) return ['CORS_ORIGINS must list exact origins when REFRESH_TOKEN_COOKIE=true ("*" is refused)'];
  return [];
}

/** The frozen section, from the parsed settings. */
export function cookiesSection(e: { REFRESH_TOKEN_COOKIE: boolean; COOKIE_SECURE: boolean }): CookiesConfig {
  return Object.freeze({ refreshTokenCookie: e.REFRESH_TOKEN_COOKIE, secure: e.COOKIE_SECURE });
}
