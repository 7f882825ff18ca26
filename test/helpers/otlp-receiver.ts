import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One attribute of OTLP/JSON (`{ key, value: { stringValue | intValue | … } }`). */
interface OtlpKeyValue {
  readonly key: string;
  readonly value: Record<string, unknown>;
}

/** A span as received, with its attributes flattened to plain values. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, unknown> }>;
  readonly scope: string;
}

/** A real OTLP/HTTP receiver (POST /v1/traces, JSON or protobuf) on a free port, as a collector would be. */
export interface OtlpReceiver {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Every request body received, as text (protobuf strings are UTF-8, so a secret would show in it too). */
  readonly bodies: string[];
  /** Every span of the JSON bodies. */
  spans(): ReceivedSpan[];
  /** Every resource attribute of the JSON bodies. */
  resources(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

function plain(value: Record<string, unknown>): unknown {
  if ('stringValue' in value) return value.stringValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('boolValue' in value) return value.boolValue;
  if ('arrayValue' in value) return ((value.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(plain);
  return value;
}

function flatten(list: readonly OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpKeyValue[]; events?: Array<{ name: string; attributes?: OtlpKeyValue[] }> }>;
    }>;
  }>;
}

/** Starts the receiver on 127.0.0.1 and a free port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: string[] = [];
  const documents: OtlpJson[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      bodies.push(body.toString('utf8'));
      const json = String(req.headers['content-type']).startsWith('application/json');
      if (json) documents.push(JSON.parse(body.toString('utf8')) as OtlpJson);
      // An empty ExportTraceServiceResponse: everything accepted.
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    spans: () =>
      documents.flatMap((doc) =>
        (doc.resourceSpans ?? []).flatMap((rs) =>
          (rs.scopeSpans ?? []).flatMap((ss) =>
            (ss.spans ?? []).map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              attributes: flatten(span.attributes),
              events: (span.events ?? []).map((event) => ({ name: event.name, attributes: flatten(event.attributes) })),
              scope: ss.scope?.name ?? '',
            })),
          ),
        ),
      ),
    resources: () => documents.flatMap((doc) => (doc.resourceSpans ?? []).map((rs) => flatten(rs.resource?.attributes))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
