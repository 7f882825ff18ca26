import { createRequire } from 'node:module';
import type { Attributes, AttributeValue, Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.js';

/*
 * OpenTelemetry tracing, loaded only when configured (main.ts imports this
 * module dynamically, before the app, so the instrumentations' require hooks
 * are in place when graphql, pg and ioredis are first loaded; the build
 * leaves those packages out of the bundle for that reason).
 *
 * Redaction is the point of this file: an exported span goes to a collector
 * that is often kept longer and read more widely than the database, so no
 * secret may reach it. Layers, each one enough on its own for what it covers:
 *  - the instrumentations are configured not to record values: GraphQL
 *    `allowValues: false` (no variables, literals in the source become `*`),
 *    no HTTP headers, pg without parameter values, Redis commands by name only
 *    (tokengate's Redis keys hold token and session hashes);
 *  - RedactingSpanProcessor drops or trims, on every span before export, any
 *    attribute that could hold one (variables, headers, query strings, SQL
 *    parameters, user:password in URLs) and the quoted values of error messages.
 */

/** What startTracing needs (the tracing section of Config has this shape; platform/ imports no config). */
export interface TracingOptions {
  readonly exporter: 'otlp' | 'console';
  readonly protocol: 'http/protobuf' | 'http/json' | 'grpc';
  readonly serviceName: string;
}

/** The running tracer: flushes and stops on shutdown. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/** Attribute names whose value is never exported, whatever the instrumentation. */
const DROPPED_KEYS = [
  /^graphql\.variables\./, // GraphQL variables: passwords, tokens, codes
  /^http\.(request|response)\.header\./, // Authorization, Cookie, Set-Cookie …
  /^url\.query$/, // ?token=… on the email link pages
  /^db\.(postgresql\.values|query\.parameter\.)/, // SQL parameter values
  /^db\.(redis\.)?args/,
  /password|secret|token|authorization|cookie|credential|api[-_.]?key/i,
];
/** Attributes that hold a URL or a request target: exported without their query string. */
const URL_KEYS = new Set(['url.full', 'http.url', 'http.target', 'url.original', 'http.route']);
/** Attributes that hold a whole database or Redis statement. */
const STATEMENT_KEYS = new Set(['db.statement', 'db.query.text']);
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;
const QUOTED = /"(?:[^"\\]|\\.)*"/g;

function withoutQuery(value: string): string {
  const at = value.indexOf('?');
  return at < 0 ? value : value.slice(0, at);
}

/** Whether an attribute name is never exported; decided once per name (the names are few and repeat on every span). */
const droppedKeys = new Map<string, boolean>();
function isDropped(key: string): boolean {
  let dropped = droppedKeys.get(key);
  if (dropped === undefined) {
    dropped = DROPPED_KEYS.some((pattern) => pattern.test(key));
    if (droppedKeys.size < 10_000) droppedKeys.set(key, dropped);
  }
  return dropped;
}

function redactValue(key: string, value: AttributeValue, system: AttributeValue | undefined): AttributeValue {
  if (typeof value !== 'string') return value;
  let out = value.includes('@') ? value.replace(USERINFO, '$1') : value;
  if (URL_KEYS.has(key)) out = withoutQuery(out);
  // A Redis statement is kept to its command name: keys and arguments hold token hashes and values.
  if (STATEMENT_KEYS.has(key) && system === 'redis') out = out.split(' ', 1)[0] ?? '';
  // SQL is parameterized ($1, ?): its text holds no value; a quoted literal would, so it goes.
  if (STATEMENT_KEYS.has(key) && system !== 'redis') out = out.replace(/'(?:[^']|'')*'/g, "'?'");
  if (key === 'exception.message') out = out.replace(QUOTED, '"*"');
  return out;
}

/** Attributes without anything that could hold a secret (see DROPPED_KEYS and redactValue). */
export function redactAttributes(attributes: Attributes): Attributes {
  const system = attributes['db.system'] ?? attributes['db.system.name'];
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || isDropped(key)) continue;
    out[key] = redactValue(key, value, system);
  }
  return out;
}

/** A finished span as the exporter will see it: attributes, events, links and status message redacted. */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    ...(span.parentSpanContext ? { parentSpanContext: span.parentSpanContext } : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status.message === undefined ? span.status : { ...span.status, message: span.status.message.replace(QUOTED, '"*"') },
    attributes: redactAttributes(span.attributes),
    links: span.links.length === 0 ? span.links : span.links.map((link) => (link.attributes ? { ...link, attributes: redactAttributes(link.attributes) } : link)),
    events: span.events.length === 0 ? span.events : span.events.map((event) => (event.attributes ? { ...event, attributes: redactAttributes(event.attributes) } : event)),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Hands the next processor (the batch exporter) only redacted spans. */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}
  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    this.next.onEnd(redactSpan(span));
  }
  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

/** A Redis command as a span's statement: its name only (keys hold token and session hashes). */
export function redisStatement(commandName: string): string {
  return commandName;
}

async function createExporter(config: TracingOptions): Promise<SpanExporter> {
  if (config.exporter === 'console') return new (await import('@opentelemetry/sdk-trace')).ConsoleSpanExporter();
  // Each exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
  switch (config.protocol) {
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  }
}

/**
 * Starts the OpenTelemetry SDK with the HTTP, GraphQL, pg and ioredis
 * instrumentations and the redacting processor. Call it before the app's
 * modules are loaded (main.ts does).
 */
export async function startTracing(config: TracingOptions, logger: Logger): Promise<Tracing> {
  const [{ NodeSDK }, { BatchSpanProcessor }, { HttpInstrumentation }, { GraphQLInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-graphql'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  const exporter = await createExporter(config);
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    spanProcessors: [new RedactingSpanProcessor(new BatchSpanProcessor({ exporter }))],
    // Prometheus serves the metrics (/metrics) and pino the logs: no OpenTelemetry metrics or logs pipeline.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes would drown the traces; the exporter's own requests are never traced.
        ignoreIncomingRequestHook: (request) => request.url === '/healthz' || request.url === '/readyz' || request.url === '/metrics',
        disableOutgoingRequestInstrumentation: true,
      }),
      new GraphQLInstrumentation({ allowValues: false, ignoreTrivialResolveSpans: true, mergeItems: true }),
      new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
      new IORedisInstrumentation({ dbStatementSerializer: redisStatement, requireParentSpan: true }),
    ],
  });
  sdk.start();
  // The server imports node:http as an ES module, which the require hook does
  // not see; requiring it once lets the instrumentation patch http.Server,
  // which the import shares. graphql is patched through the files it requires
  // inside; pg and ioredis are required (platform/lazy-packages.ts).
  createRequire(import.meta.url)('node:http');
  logger.info({ exporter: config.exporter, protocol: config.protocol, service: config.serviceName }, 'tracing on (OpenTelemetry)');
  return { shutdown: () => sdk.shutdown() };
}
