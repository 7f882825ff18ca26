import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/*
 * Prometheus metrics (docs/api.md, "Operations"). Each app builds its own
 * Registry (never prom-client's global one), so tests can run several apps
 * in one process. Services do not see prom-client: they get the small ports
 * below (AuthMetrics), which a test can replace by a recorder and the CLI by
 * noAuthMetrics.
 */

/** How a login ended: the label values of `tokengate_logins_total{outcome}`. */
export type LoginOutcome = 'success' | 'failure' | 'locked' | 'mfa_required';
/** How a refresh ended: the label values of `tokengate_refreshes_total{outcome}`. */
export type RefreshOutcome = 'rotated' | 'grace' | 'reused' | 'invalid';

export const LOGIN_OUTCOMES: readonly LoginOutcome[] = ['success', 'failure', 'locked', 'mfa_required'];
export const REFRESH_OUTCOMES: readonly RefreshOutcome[] = ['rotated', 'grace', 'reused', 'invalid'];

/** The port AuthService counts its outcomes through. */
export interface AuthMetrics {
  login(outcome: LoginOutcome): void;
  refresh(outcome: RefreshOutcome): void;
}

/** An AuthMetrics that counts nothing (the CLI, tests that do not look). */
export const noAuthMetrics: AuthMetrics = { login: () => {}, refresh: () => {} };

/** A source of a gauge's current value, read at every scrape. */
export type GaugeSource = () => number | Promise<number>;

/** Every tokengate series, on the app's own registry. */
export interface Metrics {
  readonly registry: Registry;
  readonly auth: AuthMetrics;
  /** Sessions ended, by the door's reason (`logout`, `refresh_reuse`, …). */
  readonly sessionsEnded: Counter<'reason'>;
  /** GraphQL request durations; label values come from graphqlOperationLabel only. */
  readonly graphqlDuration: Histogram<'operation'>;
  /** Open WebSocket connections: the WebSocket transport calls inc() and dec(). */
  readonly wsConnections: Gauge;
  /** Rows removed by the background pruner, by task. */
  readonly pruned: Counter<'task'>;
  /**
   * Sets where `tokengate_mail_queue_depth` is read from at each scrape (the
   * mail outbox's pending count); until set, the gauge reads 0.
   */
  setMailQueueDepthSource(source: GaugeSource): void;
}

/** Seconds: from a fast cached query to a login that waited for the hashing queue. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Builds a registry with the process metrics and every tokengate series, label values pre-set to 0. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const logins = new Counter({
    name: 'tokengate_logins_total',
    help: 'Login attempts by outcome (success, failure = wrong credentials, locked = refused by a brute-force limit, mfa_required).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'tokengate_refreshes_total',
    help: 'Refresh-token trades by outcome (rotated, grace = a racer inside the grace window, reused = theft detected, invalid).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const sessionsEnded = new Counter({
    name: 'tokengate_sessions_ended_total',
    help: 'Sessions ended, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'tokengate_graphql_request_duration_seconds',
    help: 'GraphQL request duration by operation (the root field name of a one-field operation, else "other").',
    labelNames: ['operation'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const wsConnections = new Gauge({ name: 'tokengate_ws_connections', help: 'Open WebSocket connections.', registers: [registry] });
  let mailQueueDepth: GaugeSource = () => 0;
  new Gauge({
    name: 'tokengate_mail_queue_depth',
    help: 'Mails waiting in the outbox.',
    registers: [registry],
    async collect() {
      this.set(await mailQueueDepth());
    },
  });
  const pruned = new Counter({
    name: 'tokengate_pruned_rows_total',
    help: 'Rows removed by the background pruner, by task.',
    labelNames: ['task'] as const,
    registers: [registry],
  });

  // Every known label value appears from the first scrape, so rate() and alerts work before the first event.
  for (const outcome of LOGIN_OUTCOMES) logins.inc({ outcome }, 0);
  for (const outcome of REFRESH_OUTCOMES) refreshes.inc({ outcome }, 0);

  return {
    registry,
    auth: {
      login: (outcome) => logins.inc({ outcome }),
      refresh: (outcome) => refreshes.inc({ outcome }),
    },
    sessionsEnded,
    graphqlDuration,
    wsConnections,
    pruned,
    setMailQueueDepthSource(source) {
      mailQueueDepth = source;
    },
  };
}
