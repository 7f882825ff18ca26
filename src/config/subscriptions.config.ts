import { budget, duration, int, type Budget } from './fields.js';

/** Subscriptions over graphql-ws (../shared/API.md, "Subscriptions"). */
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

/** The settings of this section, merged into loadConfig's schema. */
export const subscriptionsFields = {
  SUBSCRIPTIONS_INIT_TIMEOUT: duration('SUBSCRIPTIONS_INIT_TIMEOUT', 60, 1).default(3),
  SUBSCRIPTIONS_MAX_PER_USER: int('SUBSCRIPTIONS_MAX_PER_USER', 1, 10_000).default(10),
  RATE_LIMIT_WS_ADDRESS: budget('RATE_LIMIT_WS_ADDRESS').default({ points: 60, duration: 60 }),
  SUBSCRIPTIONS_RECHECK_INTERVAL: duration('SUBSCRIPTIONS_RECHECK_INTERVAL', 3_600, 1).default(30),
  SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL: duration('SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL', 60, 1).default(1),
};

/** The frozen section, from the parsed settings. */
export function subscriptionsSection(e: {
  SUBSCRIPTIONS_INIT_TIMEOUT: number;
  SUBSCRIPTIONS_MAX_PER_USER: number;
  RATE_LIMIT_WS_ADDRESS: Budget;
  SUBSCRIPTIONS_RECHECK_INTERVAL: number;
  SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL: number;
}): SubscriptionsConfig {
  return Object.freeze({
    initTimeoutMs: e.SUBSCRIPTIONS_INIT_TIMEOUT * 1000,
    maxConnectionsPerUser: e.SUBSCRIPTIONS_MAX_PER_USER,
    connectionsPerAddress: Object.freeze(e.RATE_LIMIT_WS_ADDRESS),
    recheckIntervalMs: e.SUBSCRIPTIONS_RECHECK_INTERVAL * 1000,
    degradedRecheckIntervalMs: e.SUBSCRIPTIONS_DEGRADED_RECHECK_INTERVAL * 1000,
  });
}
