import { budget, duration, int, type Budget } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** The brute-force limits (docs/api.md, "Brute-force limits"); every one configurable. */
export interface RateLimitConfig {
  /** Consecutive failed logins for one username from one address before that pair is locked. */
  readonly loginPair: number;
  /** The first lock of a pair, in seconds; each further lock within a day doubles it, up to an hour. */
  readonly loginPairLock: number;
  readonly loginPerUsername: Budget;
  readonly loginPerAddress: Budget;
  readonly signupPerAddress: Budget;
  readonly refreshPerAddress: Budget;
}

const fields = {
  RATE_LIMIT_LOGIN_PAIR: int('RATE_LIMIT_LOGIN_PAIR', 1, 1_000_000).prefault('5'),
  RATE_LIMIT_LOGIN_LOCK: duration('RATE_LIMIT_LOGIN_LOCK', 3_600, 1).prefault('1m'),
  RATE_LIMIT_LOGIN_USERNAME: budget('RATE_LIMIT_LOGIN_USERNAME').prefault('50/1h'),
  RATE_LIMIT_LOGIN_ADDRESS: budget('RATE_LIMIT_LOGIN_ADDRESS').prefault('100/1h'),
  RATE_LIMIT_SIGNUP_ADDRESS: budget('RATE_LIMIT_SIGNUP_ADDRESS').prefault('30/10m'),
  RATE_LIMIT_REFRESH_ADDRESS: budget('RATE_LIMIT_REFRESH_ADDRESS').prefault('120/1m'),
};

/** The brute-force limits of login, signup and refresh. */
export const rateLimitsSection: ConfigSection<typeof fields, { readonly rateLimits: RateLimitConfig }> = {
  title: 'Brute-force limits',
  notes:
    'A budget is written `N/duration`: `N` attempts per window, e.g. `100/1h`. See [Security](../operations/security.md) for what each limit does. The mail and WebSocket budgets sit with their sections.',
  fields,
  docs: {
    RATE_LIMIT_LOGIN_PAIR: 'Consecutive failed logins for one username from one address before the pair is locked.',
    RATE_LIMIT_LOGIN_LOCK: 'The first lock of a pair; each further lock within a day doubles it, up to `1h`.',
    RATE_LIMIT_LOGIN_USERNAME: 'Failed logins for one username from all addresses, per window.',
    RATE_LIMIT_LOGIN_ADDRESS: 'Failed logins from one client address, per window.',
    RATE_LIMIT_SIGNUP_ADDRESS: 'Signup attempts from one client address, per window.',
    RATE_LIMIT_REFRESH_ADDRESS: '`refreshToken` calls from one client address, per window.',
  },
  build: (e) => ({
    rateLimits: Object.freeze({
      loginPair: e.RATE_LIMIT_LOGIN_PAIR,
      loginPairLock: e.RATE_LIMIT_LOGIN_LOCK,
      loginPerUsername: Object.freeze(e.RATE_LIMIT_LOGIN_USERNAME),
      loginPerAddress: Object.freeze(e.RATE_LIMIT_LOGIN_ADDRESS),
      signupPerAddress: Object.freeze(e.RATE_LIMIT_SIGNUP_ADDRESS),
      refreshPerAddress: Object.freeze(e.RATE_LIMIT_REFRESH_ADDRESS),
    }),
  }),
};
