import type { IncomingMessage } from 'node:http';

/**
 * The caller's address, for HTTP requests and WebSocket upgrades alike: the
 * socket's, or with TRUST_PROXY the last X-Forwarded-For entry, which our own
 * proxy appended (earlier entries are whatever the client chose to send).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string') {
    const last = forwarded.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}
