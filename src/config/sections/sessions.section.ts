import { duration } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** The sessions part of Config: how long a session lives, and the refresh race window. */
export interface SessionsConfig {
  /** Session lifetime in seconds, counted from the last refresh. */
  readonly refreshTokenTtl: number;
  /** Seconds after a refresh token's first use in which presenting it again returns the current pair. */
  readonly refreshReuseGrace: number;
}

const fields = {
  REFRESH_TOKEN_TTL: duration('REFRESH_TOKEN_TTL', undefined, 1).prefault('30d'),
  REFRESH_REUSE_GRACE: duration('REFRESH_REUSE_GRACE', 300).prefault('10s'),
};

/** REFRESH_TOKEN_TTL and REFRESH_REUSE_GRACE. */
export const sessionsSection: ConfigSection<typeof fields, SessionsConfig, { ACCESS_TOKEN_TTL: number }> = {
  title: 'Sessions and refresh tokens',
  fields,
  docs: {
    REFRESH_TOKEN_TTL: 'Session lifetime, counted from the last refresh (`Session.expiresAt`); longer than `ACCESS_TOKEN_TTL`.',
    REFRESH_REUSE_GRACE:
      'Window after a refresh token\'s first use in which presenting it again returns the session\'s current pair instead of revoking the session; at most `300s`.',
  },
  check: ({ parsed }) =>
    // The per-request check relies on an access token never outliving its session's refresh lifetime.
    parsed && parsed.REFRESH_TOKEN_TTL <= parsed.ACCESS_TOKEN_TTL ? ['REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL'] : [],
  build: (e) => ({ refreshTokenTtl: e.REFRESH_TOKEN_TTL, refreshReuseGrace: e.REFRESH_REUSE_GRACE }),
};
