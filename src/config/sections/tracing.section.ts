import { z } from 'zod';
import type { ConfigSection } from '../section.js';

/** How finished spans leave the process: OTLP over HTTP (protobuf or JSON) or gRPC, or printed (console). */
export type TraceExporterKind = 'otlp' | 'console';
/** The OTLP protocols OpenTelemetry's exporters speak. */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

/** The tracing section of Config (OpenTelemetry; see docs/operations/tracing.md). */
export interface TracingConfig {
  /** Off unless an OTLP endpoint or an exporter is configured: nothing of OpenTelemetry is loaded then. */
  readonly enabled: boolean;
  readonly exporter: TraceExporterKind;
  readonly protocol: OtlpProtocol;
  /** `service.name` on every span. */
  readonly serviceName: string;
}

const protocol = z.enum(['http/protobuf', 'http/json', 'grpc'], { message: 'OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf, http/json or grpc' });
const url = (name: string) => z.url({ message: `${name} must be a URL such as http://collector:4318` });

const fields = {
  OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT').optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT').optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none'], { message: 'OTEL_TRACES_EXPORTER must be otlp, console or none' }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).default('tokengate'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false'], { message: 'OTEL_SDK_DISABLED must be true or false' }).optional(),
};

/** OpenTelemetry tracing, under the standard OTEL_* names; off unless an endpoint or an exporter is set. */
export const tracingSection: ConfigSection<typeof fields, { readonly tracing: TracingConfig }> = {
  title: 'Tracing (OpenTelemetry)',
  notes:
    'Off unless `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_TRACES_EXPORTER` is set; off, nothing of OpenTelemetry is loaded. On, spans cover HTTP requests, GraphQL parse/validate/execute and resolvers, SQL (PostgreSQL) and Redis commands, with secrets removed before export (see [Tracing](../operations/tracing.md)). The SDK reads the other standard `OTEL_*` settings itself (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES` …).',
  fields,
  docs: {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'Base URL of an OTLP receiver (a collector): traces go to `<url>/v1/traces` (`http/…`) or to the URL itself (`grpc`). Setting it turns tracing on.',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'Full URL for traces only (used as is, no `/v1/traces` appended); wins over `OTEL_EXPORTER_OTLP_ENDPOINT`. Setting it turns tracing on.',
    OTEL_TRACES_EXPORTER: {
      default: '`otlp` when an endpoint is set; none otherwise',
      description: '`otlp` (to the endpoint, `http://localhost:4318` when none is set), `console` (spans printed on stdout, for a look during development) or `none` (tracing off, whatever the endpoint).',
    },
    OTEL_EXPORTER_OTLP_PROTOCOL: { default: '`http/protobuf`', description: 'OTLP encoding: `http/protobuf`, `http/json` or `grpc`.' },
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: { default: '`OTEL_EXPORTER_OTLP_PROTOCOL`', description: 'The same, for traces only.' },
    OTEL_SERVICE_NAME: '`service.name` of every span.',
    OTEL_SDK_DISABLED: { default: '`false`', description: '`true` turns tracing off whatever else is set.' },
  },
  build: (e) => {
    const exporter = e.OTEL_TRACES_EXPORTER ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined ? 'otlp' : 'none');
    return {
      tracing: Object.freeze({
        enabled: exporter !== 'none' && e.OTEL_SDK_DISABLED !== 'true',
        exporter: exporter === 'none' ? 'otlp' : exporter,
        protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
        serviceName: e.OTEL_SERVICE_NAME,
      }),
    };
  },
};
