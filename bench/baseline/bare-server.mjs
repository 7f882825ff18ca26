// @ts-check
/**
 * The floor any GraphQL layer is measured against: a bare node:http server
 * that verifies the same Bearer JWT tokengate issues, with the same library
 * (jsonwebtoken) and the same checks (key prepared once as a KeyObject,
 * algorithm pinned to HS256, issuer, audience and `typ`), and answers
 * `{"loggedInAs": username}` or 401. No routing library, no body parsing.
 *
 * Env: PORT, HOST (127.0.0.1), JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE (both default `tokengate`).
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
/** @type {jwt.VerifyOptions & { complete: true }} */
const verifyOptions = {
  algorithms: ['HS256'],
  issuer: process.env.JWT_ISSUER ?? 'tokengate',
  audience: process.env.JWT_AUDIENCE ?? 'tokengate',
  complete: true,
};

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
    const decoded = jwt.verify(match[1], key, verifyOptions);
    const payload = /** @type {jwt.JwtPayload} */ (decoded.payload);
    if (decoded.header.typ !== 'at+jwt' || typeof payload.username !== 'string') return send(res, 401, '{"error":"invalid token"}');
    return send(res, 200, JSON.stringify({ loggedInAs: payload.username }));
  } catch {
    return send(res, 401, '{"error":"invalid token"}');
  }
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
