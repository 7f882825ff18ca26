import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type TestServer } from '../helpers/server.js';

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }';
const METRICS_TOKEN = 'scrape-token-for-metrics-tests-0123456789';

/** One sample of the Prometheus text format: `name{labels} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] ? match[2].split(',') : [];
    if (wanted.length === have.length && wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

/** The distinct label sets of a histogram's `_count` series. */
function histogramSeries(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}_count{`))
    .map((line) => line.slice(0, line.lastIndexOf(' ')));
}

async function scrape(server: TestServer, token?: string): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${server.url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

describe('GET /metrics', () => {
  const clock = new ManualClock();
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ REFRESH_REUSE_GRACE: '10s', RATE_LIMIT_LOGIN_PAIR: '2' }, { deps: { clock } });
  });
  afterAll(() => server.stop());

  it('is open outside production when no METRICS_TOKEN is set, in the Prometheus text format, with process metrics', async () => {
    const { status, text, type } = await scrape(server);
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    for (const outcome of ['success', 'failure', 'locked', 'mfa_required']) expect(sample(text, 'tokengate_logins_total', { outcome })).toBe(0);
    for (const outcome of ['rotated', 'grace', 'reused', 'invalid']) expect(sample(text, 'tokengate_refreshes_total', { outcome })).toBe(0);
    expect(sample(text, 'tokengate_ws_connections')).toBe(0);
    expect(sample(text, 'tokengate_mail_queue_depth')).toBe(0);
  });

  it('counts logins, refreshes and ended sessions where they happen', async () => {
    const first = await signup(server, 'metrica');
    await login(server, 'metrica');
    await signup(server, 'lockable');
    const wrong = await server.gql(LOGIN, { u: 'lockable', p: 'not the password' });
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    await server.gql(LOGIN, { u: 'lockable', p: 'not the password either' }); // the pair lock (2) is reached
    for (let i = 0; i < 2; i++) expect(errorCode(await server.gql(LOGIN, { u: 'lockable', p: 'correct horse battery' }))).toBe('RATE_LIMITED');

    const rotated = await server.gql<{ refreshToken: { refreshToken: string; accessToken: string } }>(REFRESH, { t: first.refreshToken });
    expect(rotated.body.errors).toBeUndefined();
    const again = await server.gql(REFRESH, { t: first.refreshToken }); // a racer inside the grace window
    expect(again.body.errors).toBeUndefined();
    expect(errorCode(await server.gql(REFRESH, { t: 'A'.repeat(43) }))).toBe('INVALID_REFRESH_TOKEN');
    clock.advance(60);
    expect(errorCode(await server.gql(REFRESH, { t: first.refreshToken }))).toBe('INVALID_REFRESH_TOKEN'); // theft: the session ends

    const third = await login(server, 'metrica');
    const logout = await server.gql('mutation { logout }', {}, { token: third.accessToken });
    expect(logout.body.data).toEqual({ logout: true });

    const { text } = await scrape(server);
    expect(sample(text, 'tokengate_logins_total', { outcome: 'success' })).toBe(2);
    expect(sample(text, 'tokengate_logins_total', { outcome: 'failure' })).toBe(2);
    expect(sample(text, 'tokengate_logins_total', { outcome: 'locked' })).toBe(2);
    expect(sample(text, 'tokengate_refreshes_total', { outcome: 'rotated' })).toBe(1);
    expect(sample(text, 'tokengate_refreshes_total', { outcome: 'grace' })).toBe(1);
    expect(sample(text, 'tokengate_refreshes_total', { outcome: 'reused' })).toBe(1);
    expect(sample(text, 'tokengate_refreshes_total', { outcome: 'invalid' })).toBe(1);
    expect(sample(text, 'tokengate_sessions_ended_total', { reason: 'refresh_reuse' })).toBe(1);
    expect(sample(text, 'tokengate_sessions_ended_total', { reason: 'logout' })).toBe(1);
    expect(sample(text, 'tokengate_graphql_request_duration_seconds_count', { operation: 'login' })).toBe(6);
    expect(sample(text, 'tokengate_graphql_request_duration_seconds_count', { operation: 'refreshToken' })).toBe(4);
    expect(sample(text, 'tokengate_graphql_request_duration_seconds_count', { operation: 'logout' })).toBe(1);
  });

  it('labels operations by their root field only: client-chosen names, aliases and unknown fields do not add series', async () => {
    await server.gql('{ me { username } }');
    const before = histogramSeries((await scrape(server)).text, 'tokengate_graphql_request_duration_seconds');
    for (let i = 0; i < 100; i++) {
      const name = `Op${i}_${Math.random().toString(36).slice(2)}`;
      await server.gql(`query ${name} { alias${i}: me { username } }`);
      await server.gql(`query ${name}B { field${i} }`); // does not validate
      await server.gql(`query ${name}C { me { username } a${i}: me { username } }`); // two root fields
      await server.gql(`{ bad${i}`); // does not parse
    }
    const { text } = await scrape(server);
    const after = histogramSeries(text, 'tokengate_graphql_request_duration_seconds');
    expect(new Set(after)).toEqual(new Set([...before, 'tokengate_graphql_request_duration_seconds_count{operation="other"}']));
    expect(sample(text, 'tokengate_graphql_request_duration_seconds_count', { operation: 'me' })).toBe(101);
    expect(sample(text, 'tokengate_graphql_request_duration_seconds_count', { operation: 'other' })).toBe(300);
    expect(text).not.toMatch(/Op\d+_/);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ METRICS_TOKEN });
  });
  afterAll(() => server.stop());

  it('answers 401 without the bearer token or with a wrong one, and the metrics with it', async () => {
    for (const token of [undefined, 'wrong', `${METRICS_TOKEN}x`, METRICS_TOKEN.slice(0, -1)]) {
      const res = await scrape(server, token);
      expect(res.status).toBe(401);
      expect(res.text).not.toContain('tokengate_');
    }
    const scheme = await fetch(`${server.url}/metrics`, { headers: { authorization: `Basic ${METRICS_TOKEN}` } });
    expect(scheme.status).toBe(401);
    const ok = await scrape(server, METRICS_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('tokengate_logins_total');
  });
});

describe('GET /metrics in production', () => {
  it('is not served without METRICS_TOKEN (404), and is served with it', async () => {
    const closed = await startServer({ NODE_ENV: 'production' });
    try {
      expect((await scrape(closed)).status).toBe(404);
    } finally {
      await closed.stop();
    }
    const open = await startServer({ NODE_ENV: 'production', METRICS_TOKEN });
    try {
      expect((await scrape(open)).status).toBe(401);
      expect((await scrape(open, METRICS_TOKEN)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
