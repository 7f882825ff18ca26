import { boolean } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Cookie transport for browsers (docs/api.md, "Cookie transport for browsers"). */
export interface CookiesConfig {
  /** REFRESH_TOKEN_COOKIE: the refresh token travels in an HttpOnly cookie, never in JavaScript's reach. */
  readonly refreshTokenCookie: boolean;
  /** COOKIE_SECURE: mark the cookies `Secure` (off only for plain-http development). */
  readonly secure: boolean;
}

const fields = {
  REFRESH_TOKEN_COOKIE: boolean('REFRESH_TOKEN_COOKIE').prefault('false'),
  COOKIE_SECURE: boolean('COOKIE_SECURE').prefault('true'),
};

/** REFRESH_TOKEN_COOKIE and COOKIE_SECURE. */
export const cookiesSection: ConfigSection<typeof fields, { readonly cookies: CookiesConfig }> = {
  title: 'Cookies',
  notes: 'See [Cookie mode for browsers](http.md).',
  fields,
  docs: {
    REFRESH_TOKEN_COOKIE:
      'Cookie mode: the refresh token travels only in the HttpOnly `tg_refresh` cookie, with the `tg_csrf` cookie for the CSRF check; `AuthPayload.refreshToken` is `""`. Requires exact `CORS_ORIGINS` (`*` is refused).',
    COOKIE_SECURE: 'Marks both cookies `Secure`. Set `false` only for plain-http development (browsers drop `Secure` cookies over http).',
  },
  check: ({ raw }) => {
    const on = ['true', '1', 'yes', 'on'].includes((raw.REFRESH_TOKEN_COOKIE ?? '').trim().toLowerCase());
    const origins = (raw.CORS_ORIGINS ?? '').split(',').map((o) => o.trim());
    // A credentialed answer to any origin would let every site on the web spend the cookie.
    if (on && origins.includes('*')) return ['CORS_ORIGINS must list exact origins when REFRESH_TOKEN_COOKIE=true ("*" is refused)'];
    return [];
  },
  build: (e) => ({ cookies: Object.freeze({ refreshTokenCookie: e.REFRESH_TOKEN_COOKIE, secure: e.COOKIE_SECURE }) }),
};
