import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { GraphQLSchema } from 'graphql';
import type { Core } from '../core/core.js';
import type { FeatureRoute } from '../core/feature.js';
import type { ContextInput, GraphQLContext } from '../graphql/context.js';
import { metricsPlugin } from '../graphql/metrics-plugin.js';
import { createOperationPipeline } from '../graphql/operation-pipeline.js';
import { createQueryLimits } from '../graphql/query-limits.js';
import { defaultExplorerDir, ExplorerAssets } from './explorer.js';
import { createRequestHandler, type Readiness } from './request-handler.js';
import { attachWebSocketTransport } from './ws/index.js';

/** What the transports need from the features. */
export interface TransportParts {
  readonly schema: GraphQLSchema;
  readonly buildContext: (input: ContextInput) => Promise<GraphQLContext>;
  /** The JWK Set document (the keys feature). */
  readonly jwks: string;
  /** The cookie mode's CSRF token of a session (the sessions feature). */
  readonly csrfFor: (sessionId: string) => string;
  /** Readiness of the core and every feature. */
  readonly readiness: () => Promise<Readiness>;
  /** Where the built explorer is (default: dist/explorer). */
  readonly explorerDir?: string;
  /** The features' own HTTP routes. */
  readonly routes?: readonly FeatureRoute[];
}

/** HTTP (Apollo behind our request handler) and WebSocket (graphql-ws) on one node:http server. */
export interface Transports {
  readonly server: Server;
  connectionCount(): number;
  /** Registers the one callback for every change of the open-socket count; returns the unregister function. */
  onConnectionCountChange(listener: (count: number) => void): () => void;
  start(): Promise<void>;
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, finishes in-flight requests, closes sockets (1001), stops Apollo. */
  stop(): Promise<void>;
}

/** Builds the transports over the features' schema and context. */
export function createTransports(core: Core, parts: TransportParts): Transports {
  const { config, logger, metrics, clock } = core;
  const queryLimits = createQueryLimits(config);
  const { schema, buildContext } = parts;
  // One pipeline for both transports: Apollo's parse options, rules, formatError and suggestion hiding come from it.
  const pipeline = createOperationPipeline({ schema, queryLimits, introspection: config.introspection, logger, authTrace: config.authTrace });
  const apollo = new ApolloServer<GraphQLContext>({
    ...pipeline.apolloOptions,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    plugins: [
      // EXPLORER=graphiql serves our own page before Apollo sees the request; Apollo's landing page is Sandbox only.
      config.explorer.mode === 'sandbox'
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      // No field sets cache hints, so computing them per request is waste.
      ApolloServerPluginCacheControlDisabled(),
      pipeline.apolloPlugin,
      metricsPlugin(metrics.graphqlDuration),
    ],
  });

  const explorer = config.explorer.mode === 'graphiql' ? new ExplorerAssets(parts.explorerDir ?? defaultExplorerDir()) : null;
  const handler = createRequestHandler({
    apollo,
    buildContext,
    readiness: parts.readiness,
    logger,
    jwks: parts.jwks,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // With cookies on, no origin is reflected by default: a credentialed answer goes only to origins listed by name.
    corsOrigins: config.corsOrigins.length > 0 ? config.corsOrigins : config.env === 'production' || config.cookies.refreshTokenCookie ? [] : '*',
    // Open outside production for a local Prometheus; in production only with METRICS_TOKEN (else 404).
    metrics:
      config.operations.metricsToken !== null || config.env !== 'production'
        ? {
            token: config.operations.metricsToken,
            scrape: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
          }
        : null,
    explorer,
    cookies: config.cookies.refreshTokenCookie ? { secure: config.cookies.secure, csrfFor: parts.csrfFor, now: () => clock.now() } : null,
    cookieSecure: config.cookies.secure,
    credentialedOrigins: config.social.providers.length > 0 ? config.social.redirectOrigins : [],
    routes: parts.routes ?? [],
  });

  const server = createServer({ requestTimeout: 30_000 }, handler);
  server.keepAliveTimeout = 65_000;
  let countListener: ((count: number) => void) | null = null;
  const websockets = attachWebSocketTransport({
    server,
    schema,
    pipeline,
    buildContext,
    sessions: core.sessions,
    bus: core.bus,
    rateLimits: core.rateLimits,
    clock,
    logger,
    config: config.subscriptions,
    maxMessageBytes: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    allowedOrigins: config.corsOrigins,
    clockToleranceSeconds: config.jwt.clockTolerance,
    onConnectionCountChange: (count) => {
      metrics.wsConnections.set(count);
      countListener?.(count);
    },
  });

  return {
    server,
    connectionCount: () => websockets.connectionCount(),
    onConnectionCountChange(listener) {
      countListener = listener;
      return () => {
        if (countListener === listener) countListener = null;
      };
    },
    async start() {
      await apollo.start();
      if (explorer && !explorer.built) logger.warn({ dir: explorer.dir }, 'EXPLORER=graphiql but the explorer is not built: run `npm run build`');
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    async stop() {
      const serverClosed = new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        // Stop accepting; requests in flight finish. Keep-alive connections
        // are closed as soon as they go idle, so clients are not cut off mid-request.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      // Upgraded sockets keep the server open: they close (1001) once their in-flight operations end.
      await websockets.close();
      await serverClosed;
      await apollo.stop();
    },
  };
}
