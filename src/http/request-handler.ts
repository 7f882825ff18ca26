import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { RequestMeta } from '../platform/request-meta.js';
import { clientAddress } from './client-address.js';
import { parseBearer } from './credentials.js';
import { CSRF_HEADER, createCookieTransport, createRequestCookies, type CookieTransportOptions } from './cookies.js';
import { sendEmailPage, type EmailPage } from './email-pages.js';
import type { ContextInput, GraphQLContext } from '../graphql/context.js';
import type { Logger } from '../platform/logger.js';
import type { FeatureRoute } from '../core/feature.js';
import { EXPLORER_ASSET_PREFIX, prefersHtml, type ExplorerAssets } from './explorer.js';

/** What /readyz reports: checks that gate it (503 when one is down), and external services it only shows (200 `degraded`). */
export interface Readiness {
  readonly required: Record<string, boolean>;
  readonly external: Record<string, boolean>;
}

/** What the HTTP layer needs from the rest of the app. */
export interface RequestHandlerDeps {
  readonly apollo: ApolloServer<GraphQLContext>;
  readonly buildContext: (input: ContextInput) => Promise<GraphQLContext>;
  /** Readiness of each dependency, e.g. `{ database: true }`. */
  readonly readiness: () => Promise<Readiness>;
  readonly logger: Logger;
  /** The JWK Set document, serialized once at start-up (`{"keys":[]}` for HS256). */
  readonly jwks: string;
  readonly bodyLimitBytes: number;
  readonly trustProxy: boolean;
  /** Allowed CORS origins; `'*'` reflects any origin (development default). */
  readonly corsOrigins: readonly string[] | '*';
  /** The Prometheus endpoint; null when it is off (production without METRICS_TOKEN), and /metrics is then 404. */
  readonly metrics: MetricsEndpoint | null;
  /** The self-hosted explorer (EXPLORER=graphiql), or null when GET /graphql shows no page of ours. */
  readonly explorer?: ExplorerAssets | null;
  /** The cookie transport (REFRESH_TOKEN_COOKIE=true), or null. */
  readonly cookies: CookieTransportOptions | null;
  /** COOKIE_SECURE, for cookies features set outside the cookie transport (default true). */
  readonly cookieSecure?: boolean;
  /** Exact origins that may call with credentials even when the cookie transport is off (OAUTH_REDIRECT_ORIGINS: startOAuth sets a cookie). */
  readonly credentialedOrigins?: readonly string[];
  /** The features' own routes (e.g. /oauth/callback/<name>). */
  readonly routes?: readonly FeatureRoute[];
}

/** What GET /metrics serves, and who may read it. */
export interface MetricsEndpoint {
  /** The bearer token scrapers must send; null serves anyone (outside production only). */
  readonly token: string | null;
  readonly scrape: () => Promise<{ readonly contentType: string; readonly body: string }>;
}

/** A request that failed before reaching GraphQL, with the status to answer. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * How long verifiers may cache the JWKS (the contract allows at most an hour).
 * Short enough that a key published for a rotation reaches caching verifiers
 * (Hasura, gateways) within minutes; verifiers such as jose also refetch on an unknown kid.
 */
export const JWKS_MAX_AGE_SECONDS = 300;
const CORS_ALLOW_HEADERS = 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id';
const CORS_ALLOW_HEADERS_WITH_CSRF = `${CORS_ALLOW_HEADERS}, ${CSRF_HEADER}`;

/**
 * The HTTP surface of docs/api.md on Node's own http server: routing, the
 * body limit, CORS, request ids, and a hand-off to Apollo's
 * executeHTTPGraphQLRequest. Kept lean on purpose: no framework on the hot path.
 */
export function createRequestHandler(deps: RequestHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'unhandled error in request handler');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  };
}

async function handle(deps: RequestHandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const search = queryAt === -1 ? '' : url.slice(queryAt);
  const requestIdHeader = req.headers['x-request-id'];
  const requestId = typeof requestIdHeader === 'string' && REQUEST_ID.test(requestIdHeader) ? requestIdHeader : randomUUID();
  res.setHeader('x-request-id', requestId);
  applyCors(deps, req, res);

  switch (pathname) {
    case '/graphql':
      if (deps.explorer && prefersHtml(req.method, req.headers.accept)) return deps.explorer.servePage(req, res);
      return handleGraphQL(deps, req, res, search, requestId);
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      const { required, external } = await deps.readiness();
      const ok = Object.values(required).every(Boolean);
      const status = !ok ? 'unavailable' : Object.values(external).every(Boolean) ? 'ok' : 'degraded';
      const body = Object.fromEntries(Object.entries({ ...required, ...external }).map(([name, up]) => [name, up ? 'ok' : 'down']));
      return sendJson(res, ok ? 200 : 503, { status, checks: body });
    }
    case '/metrics':
      if (deps.metrics !== null) return handleMetrics(deps.metrics, req, res);
      break;
    case '/verify-email':
    case '/reset-password':
      return sendEmailPage(res, pathname.slice(1) as EmailPage, (req.method ?? 'GET').toUpperCase());
    case '/.well-known/jwks.json':
      // Public members only (HS256 keys are secret: then there is nothing to publish).
      res.setHeader('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return sendText(res, 200, deps.jwks);
    default:
      if (deps.explorer && pathname.startsWith(EXPLORER_ASSET_PREFIX) && deps.explorer.serveAsset(pathname, req, res)) return;
      for (const route of deps.routes ?? []) {
        if (pathname.startsWith(route.prefix) && (req.method ?? 'GET').toUpperCase() === route.method) {
          return route.handle(req, res, { path: pathname, search, meta: { userAgent: req.headers['user-agent'] ?? null, clientAddress: clientAddress(req, deps.trustProxy), requestId } });
        }
      }
  }
  const paths = ['/graphql', '/healthz', '/readyz', ...(deps.metrics ? ['/metrics'] : []), '/.well-known/jwks.json', '/verify-email', '/reset-password'];
  return sendJson(res, 404, { error: 'Not found', paths });
}

async function handleMetrics(metrics: MetricsEndpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (metrics.token !== null && !sameSecret(bearerValue(req.headers.authorization), metrics.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="metrics"');
    return sendJson(res, 401, { error: 'Send Authorization: Bearer <METRICS_TOKEN>.' });
  }
  const { contentType, body } = await metrics.scrape();
  res.statusCode = 200;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

function bearerValue(header: string | undefined): string {
  return /^bearer +(\S+) *$/i.exec(header ?? '')?.[1] ?? '';
}

/**
 * Compares a presented secret with the expected one in constant time: both
 * are hashed first, so neither the content nor the length of the token
 * leaks through how long the comparison takes.
 */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

async function handleGraphQL(deps: RequestHandlerDeps, req: IncomingMessage, res: ServerResponse, search: string, requestId: string): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') {
    res.statusCode = 204;
    res.end();
    return;
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown;
  try {
    body = method === 'POST' ? await readBody(req, deps.bodyLimitBytes, headers.get('content-type')) : undefined;
  } catch (error) {
    if (error instanceof HttpError) {
      sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] });
      if (error.status === 413) req.destroy();
      return;
    }
    throw error;
  }
  const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers, search, body };
  const meta: RequestMeta = {
    userAgent: req.headers['user-agent'] ?? null,
    clientAddress: clientAddress(req, deps.trustProxy),
    requestId,
  };
  const cookies = deps.cookies ? createCookieTransport(deps.cookies, req.headers.cookie, req.headers[CSRF_HEADER]) : null;
  const requestCookies = createRequestCookies(req.headers.cookie, deps.cookieSecure ?? true);
  const response = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest,
    context: () => deps.buildContext({ credential: parseBearer(req.headers.authorization), meta, cookies, requestCookies }),
  });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  const setCookies = [...(cookies?.setCookies ?? []), ...requestCookies.setCookies];
  if (setCookies.length > 0) {
    res.setHeader('set-cookie', setCookies);
    // An answer that sets a session cookie must never be stored by a shared cache.
    res.setHeader('cache-control', 'no-store');
  }
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** Reads a request body up to `limit` bytes; JSON bodies are parsed, others handed to Apollo as text. */
function readBody(req: IncomingMessage, limit: number, contentType: string | undefined): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, 'BAD_REQUEST', `Request body is larger than ${limit} bytes.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'BAD_REQUEST', `Request body is larger than ${limit} bytes.`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!contentType?.toLowerCase().includes('json')) return resolve(text);
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'BAD_REQUEST', 'The request body is not valid JSON.'));
      }
    });
  });
}

function applyCors(deps: RequestHandlerDeps, req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (deps.corsOrigins !== '*' && !deps.corsOrigins.includes(origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'origin');
  // Cookie mode: the allowed (exact) origins may send the cookies; config refuses "*" in this mode.
  // The origins social sign-in may return to may too: startOAuth sets its browser-binding cookie.
  if (deps.cookies || deps.credentialedOrigins?.includes(origin)) res.setHeader('access-control-allow-credentials', 'true');
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', deps.cookies ? CORS_ALLOW_HEADERS_WITH_CSRF : CORS_ALLOW_HEADERS);
    res.setHeader('access-control-max-age', '600');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body));
}

/** Sends an already serialized JSON body. */
function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
