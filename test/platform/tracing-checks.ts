import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startInstance, type Instance } from '../helpers/instances.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { ancestors, expectNoSecret, isHttpServerSpan, runTracedSession } from '../helpers/traced-run.js';

/*
 * The checks both tracing suites run (tracing.e2e on SQLite, tracing.cluster
 * on PostgreSQL + Redis): the built server as `npm start` runs it, pointed at
 * a real OTLP/HTTP receiver this file starts, one real session, then every
 * span the server exported (it flushes on SIGTERM).
 */

/** Registers the suite's hooks and tests; `storage` gives the backend's environment. */
export function tracingSuite(options: { storage: () => Promise<{ env: Record<string, string>; dispose: () => Promise<void> }>; sql: boolean; redis: boolean }): void {
  let receiver: OtlpReceiver;
  let server: Instance;
  let secrets: string[];
  let spans: ReceivedSpan[];
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const storage = await options.storage();
    dispose = storage.dispose;
    server = await startInstance('traced', {
      ...storage.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // Admin and other features at their defaults; mail off (no SMTP here).
    });
    secrets = await runTracedSession(server);
    await server.stop(); // SIGTERM: the server flushes its last spans before exiting
    spans = receiver.spans();
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await dispose?.();
  });

  const httpRequestOf = (span: ReceivedSpan) => ancestors(span, spans).find(isHttpServerSpan);

  it('exports a span per HTTP request, with the GraphQL operation, its parse/validate/execute and resolver spans beneath it', () => {
    const server = spans.filter(isHttpServerSpan);
    expect(server.length).toBeGreaterThanOrEqual(10);
    for (const name of ['mutation SignUp', 'mutation LogIn', 'query Me', 'mutation Refresh', 'mutation Enroll', 'mutation Confirm', 'mutation Verify']) {
      const execute = spans.find((s) => s.name === name);
      expect(execute, `an execute span "${name}"`).toBeDefined();
      expect(httpRequestOf(execute!), `"${name}" under an HTTP request span`).toBeDefined();
    }
    for (const name of ['graphql.parse', 'graphql.validate']) expect(spans.some((s) => s.name === name && httpRequestOf(s))).toBe(true);
    const me = spans.find((s) => s.name === 'graphql.resolve me' && s.attributes['graphql.field.name'] === 'me');
    expect(me, 'a resolver span for `me`').toBeDefined();
    expect(ancestors(me!, spans).map((s) => s.name)).toContain('query Me');
    expect(httpRequestOf(me!)).toBeDefined();
    // The request's URL is there without its query string.
    const link = server.find((s) => String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '').startsWith('/verify-email'));
    expect(link, 'the email link page request').toBeDefined();
    expect(JSON.stringify(link!.attributes)).not.toContain('token=');
  });

  it(options.sql ? 'exports SQL spans under the resolver that ran them, statements without values' : 'has no SQL spans on SQLite (better-sqlite3 has no OpenTelemetry instrumentation)', () => {
    const sql = spans.filter((s) => s.attributes['db.system'] === 'postgresql' || s.attributes['db.system.name'] === 'postgresql');
    if (!options.sql) {
      expect(sql).toEqual([]);
      return;
    }
    expect(sql.length).toBeGreaterThan(5);
    const login = spans.find((s) => s.name === 'mutation LogIn')!;
    const underLogin = sql.filter((s) => ancestors(s, spans).some((a) => a.spanId === login.spanId));
    expect(underLogin.length, 'SQL spans beneath the login operation').toBeGreaterThan(0);
    for (const span of sql) {
      expect(httpRequestOf(span), `${span.name} under an HTTP request`).toBeDefined();
      const text = String(span.attributes['db.query.text'] ?? span.attributes['db.statement'] ?? '');
      expect(text).not.toMatch(/'[^']+'/); // no literal values: parameters only
    }
  });

  it(options.redis ? 'exports Redis commands by name only (their keys hold token hashes)' : 'has no Redis spans without Redis', () => {
    const redis = spans.filter((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis');
    if (!options.redis) {
      expect(redis).toEqual([]);
      return;
    }
    expect(redis.length).toBeGreaterThan(0);
    expect(redis.some((s) => httpRequestOf(s) !== undefined), 'a Redis command under an HTTP request').toBe(true);
    for (const span of redis) {
      const statement = String(span.attributes['db.query.text'] ?? span.attributes['db.statement'] ?? span.name);
      expect(statement).toMatch(/^[a-z]+$/i);
    }
  });

  it('exports no secret of the run in any attribute, event, resource or name', () => {
    expectNoSecret(receiver, secrets);
    expect(receiver.resources()[0]?.['service.name']).toBe('tokengate');
    // A literal written into the document is exported as `*` (allowValues off).
    const literal = spans.find((s) => s.name === 'mutation Literal');
    expect(literal, 'the execute span of the document with a literal password').toBeDefined();
    expect(String(literal!.attributes['graphql.source'])).toContain('password: "*"');
    // No GraphQL variable is exported, under any name.
    expect(spans.flatMap((s) => Object.keys(s.attributes)).filter((key) => key.startsWith('graphql.variables'))).toEqual([]);
  });
}

/** An SQLite file in a fresh folder. */
export async function sqliteStorage(): Promise<{ env: Record<string, string>; dispose: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokengate-tracing-'));
  return { env: { DATABASE_URL: path.join(dir, 'traced.sqlite') }, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
}
