// @ts-check
/**
 * The Apollo floor: the simplest honest Apollo Server 5 server that answers
 * tokengate's `protected` query, so the bench can show how much of the gap
 * between tokengate and the bare floor (bare-server.mjs) is Apollo Server's
 * own pipeline (parse, validate, execute, serialize, its default plugins).
 *
 * node:http, the JSON body read whole, `executeHTTPGraphQLRequest` with a
 * HeaderMap; the schema is tokengate's `protected` and nothing else. The
 * context verifies the Bearer JWT exactly as bare-server.mjs does
 * (jsonwebtoken, key prepared once as a KeyObject, algorithm pinned to
 * HS256; signature and `exp` only) and never throws: like tokengate's, it
 * yields the username or null plus the reason, and the resolver refuses with
 * a GraphQL error `UNAUTHENTICATED` whose `extensions.reason` is
 * `INVALID_TOKEN` (or `MISSING_TOKEN`), answered with HTTP 200 as tokengate
 * answers it. No plugin but the disabled landing page; every other Apollo
 * setting at its default (stopOnTerminationSignals aside), so Apollo's
 * default cache-control plugin runs, which tokengate turns off. No session
 * lookup, no permissions layer, no query limits, no request ids, no CORS.
 * Run with NODE_ENV=production, as tokengate is (no stack traces in errors).
 *
 * Env: PORT, HOST (127.0.0.1), JWT_SECRET.
 */
import { Buffer } from 'node:buffer';
import { createSecretKey } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError } from 'graphql';
import jwt from 'jsonwebtoken';

const secret = process.env.JWT_SECRET;
if (!secret) {
  process.stderr.write('apollo-floor: JWT_SECRET is required\n');
  process.exit(78);
}
const key = createSecretKey(Buffer.from(secret, 'utf8'));
/** @type {jwt.VerifyOptions} */
const verifyOptions = { algorithms: ['HS256'] };

/** @typedef {{ username: string | null, reason: 'MISSING_TOKEN' | 'INVALID_TOKEN' | null }} Context */

const typeDefs = `#graphql
  type Query { protected: Protected! }
  type Protected { loggedInAs: String! }
`;

const resolvers = {
  Query: {
    /** @param {unknown} _parent @param {unknown} _args @param {Context} ctx */
    protected(_parent, _args, ctx) {
      if (ctx.username === null) {
        const message = ctx.reason === 'MISSING_TOKEN' ? 'This needs an access token.' : 'The access token is not valid.';
        throw new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', reason: ctx.reason } });
      }
      return { loggedInAs: ctx.username };
    },
  },
};

/** @type {ApolloServer<Context>} */
// stopOnTerminationSignals: false only so the SIGTERM handler below owns shutdown, as tokengate's main.ts does.
const apollo = new ApolloServer({ typeDefs, resolvers, plugins: [ApolloServerPluginLandingPageDisabled()], stopOnTerminationSignals: false });
await apollo.start();

/**
 * @param {string | undefined} header
 * @returns {Context}
 */
function contextOf(header) {
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) return { username: null, reason: 'MISSING_TOKEN' };
  try {
    const payload = /** @type {jwt.JwtPayload} */ (jwt.verify(match[1], key, verifyOptions));
    return typeof payload.username === 'string' ? { username: payload.username, reason: null } : { username: null, reason: 'INVALID_TOKEN' };
  } catch {
    return { username: null, reason: 'INVALID_TOKEN' };
  }
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} body
 */
function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** @param {http.IncomingMessage} req @returns {Promise<string>} */
function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
async function handle(req, res) {
  const url = req.url ?? '/';
  if (url === '/healthz') return send(res, 200, '{"status":"ok"}');
  const queryAt = url.indexOf('?');
  if ((queryAt === -1 ? url : url.slice(0, queryAt)) !== '/graphql') return send(res, 404, '{"error":"not found"}');
  const method = (req.method ?? 'GET').toUpperCase();
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const text = method === 'POST' ? await readBody(req) : '';
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    return send(res, 400, '{"errors":[{"message":"The request body is not valid JSON.","extensions":{"code":"BAD_REQUEST"}}]}');
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method, headers, search: queryAt === -1 ? '' : url.slice(queryAt), body },
    context: async () => contextOf(req.headers.authorization),
  });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    process.stderr.write(`apollo-floor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (!res.headersSent) send(res, 500, '{"errors":[{"message":"Internal server error."}]}');
    else res.destroy();
  });
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const stop = () => server.close(() => apollo.stop().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
