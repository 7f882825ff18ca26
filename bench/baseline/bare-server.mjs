// @ts-check
/**
 * The floor any GraphQL layer is measured against: the simplest honest server
 * that does what `protected` does and no more. A bare node:http server that
 * verifies the Bearer JWT tokengate issues with the same library
 * (jsonwebtoken; key prepared once as a KeyObject, the algorithm pinned to
 * HS256, so it is not the unsafe "any algorithm" shortcut) and answers
 * `{"loggedInAs": username}` or 401. It checks the signature and `exp` only:
 * no issuer, audience or `typ` checks, no routing library, no body parsing.
 *
 * Env: PORT, HOST (127.0.0.1), JWT_SECRET.
 */
import { Buffer } from 'node:buffer';
import { createSecretKey } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import jwt from 'jsonwebtoken';

const secret = process.env.JWT_SECRET;
if (!secret) {
  process.stderr.write('bare-server: JWT_SECRET is required\n');
  process.exit(78);
}
const key = createSecretKey(Buffer.from(secret, 'utf8'));
/** @type {jwt.VerifyOptions} */
const verifyOptions = { algorithms: ['HS256'] };

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} body
 */
function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return send(res, 200, '{"status":"ok"}');
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) return send(res, 401, '{"error":"missing token"}');
  try {
    const payload = /** @type {jwt.JwtPayload} */ (jwt.verify(match[1], key, verifyOptions));
    return send(res, 200, JSON.stringify({ loggedInAs: payload.username }));
  } catch {
    return send(res, 401, '{"error":"invalid token"}');
  }
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
