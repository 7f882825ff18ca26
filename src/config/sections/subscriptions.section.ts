import { budget, duration, int, type Budget } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Subscriptions over graphql-ws (docs/api.md, "Subscriptions"). */
export interface SubscriptionsConfig {
  /** SUBSCRIPTIONS_INIT_TIMEOUT: how long a socket may stay open without `connection_init` (then 4408), in ms. */
  readonly initTimeoutMs: number;
  /** SUBSCRIPTIONS_MAX_PER_USER: open connections one user may hold on one instance. */
  readonly maxConnectionsPerUser: number;
  /** RATE_LIMIT_WS_ADDRESS: WebSocket connections one client address may open per window. */
  readonly connectionsPerAddress: Budget;
  /** SUBSCRIPTIONS_RECHECK_INTERVAL: every open socket's session is checked again this often, in ms (belt and braces to the event bus). */
  readonly recheckIntervalMs: number;
  /** SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL: while the event bus is down, sockets are checked this often instead, in ms. */
  readonly degradedRecheckIntervalMs: number;
}

const fields = {
  SUBSCRIPTIONS_INIT_TIMEOUT: duration('SUBSCRIPTIONS_INIT_TIMEOUT', 60, 1).prefault('3s'),
  SUBSCRIPTIONS_MAX_PER_USER: int('SUBSCRIPTIONS_MAX_PER_USER', 1, 10_000).prefault('10'),
  RATE_LIMIT_WS_ADDRESS: budget('RATE_LIMIT_WS_ADDRESS').prefault('60/1m'),
  SUBSCRIPTIONS_RECHECK_INTERVAL: duration('SUBSCRIPTIONS_RECHECK_INTERVAL', 3_600, 1).prefault('30s'),
  SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL: duration('SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL', 60, 1).prefault('1s'),
};

/** The WebSocket transport's limits and re-check intervals. */
export const subscriptionsSection: ConfigSection<typeof fields, { readonly subscriptions: SubscriptionsConfig }> = {
  title: 'Subscriptions',
  notes:
    'One WebSocket message may be as large as `BODY_LIMIT` (beyond, close `1009`), and one document meets the query limits. Dead peers are dropped by a ping every 12 s, so they stop counting against their user. See [Subscriptions](../guides/subscriptions.md).',
  fields,
  docs: {
    SUBSCRIPTIONS_INIT_TIMEOUT: 'Time a new socket has to send `connection_init` (else close `4408`); `1s`–`60s`.',
    SUBSCRIPTIONS_MAX_PER_USER: 'Open sockets one user may hold on one instance; more are closed `4429`.',
    RATE_LIMIT_WS_ADDRESS: 'New WebSocket connections from one client address, per window (then HTTP `429`); shared through Redis when configured, like the login budgets.',
    SUBSCRIPTIONS_RECHECK_INTERVAL: 'Every open socket\'s session is checked again this often, besides the event bus.',
    SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL:
      'While the event bus\'s subscriber connection is lost, sockets are checked this often instead; at most `60s`.',
  },
  build: (e) => ({
    subscriptions: Object.freeze({
      initTimeoutMs: e.SUBSCRIPTIONS_INIT_TIMEOUT * 1000,
      maxConnectionsPerUser: e.SUBSCRIPTIONS_MAX_PER_USER,
      connectionsPerAddress: Object.freeze(e.RATE_LIMIT_WS_ADDRESS),
      recheckIntervalMs: e.SUBSCRIPTIONS_RECHECK_INTERVAL * 1000,
      degradedRecheckIntervalMs: e.SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL * 1000,
    }),
  }),
};
