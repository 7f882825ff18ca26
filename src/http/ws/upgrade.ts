import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AuthRateLimits } from '../../core/rate-limits.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../platform/logger.js';
import { clientAddress } from '../client-address.js';

/** What the upgrade gate needs. */
export interface UpgradeGateDeps {
  /** The one path that upgrades (`/graphql`). */
  readonly path: string;
  /** CORS_ORIGINS: when not empty, an upgrade with another Origin is refused with 403. */
  readonly allowedOrigins: readonly string[];
  readonly trustProxy: boolean;
  readonly rateLimits: Pick<AuthRateLimits, 'chargeConnection'>;
  readonly logger: Logger;
  /** Whether the transport is shutting down (then 503). */
  readonly stopping: () => boolean;
  /** Completes an upgrade the gate let through; `clientAddress` as the budget was charged for it. */
  readonly accept: (request: IncomingMessage, socket: Duplex, head: Buffer, clientAddress: string) => void;
}

/**
 * The HTTP server's `upgrade` listener: the path, the Origin, and the
 * per-address connection budget, each refused with a plain HTTP status before
 * any WebSocket exists.
 */
export function createUpgradeGate(deps: UpgradeGateDeps): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const gate = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = (request.url ?? '/').split('?', 1)[0];
    if (pathname !== deps.path) return refuseUpgrade(socket, 404, 'Not Found');
    if (deps.stopping()) return refuseUpgrade(socket, 503, 'Service Unavailable');
    // Browsers send Origin on every WebSocket and do not apply CORS to it: the server must.
    const origin = request.headers.origin;
    if (origin !== undefined && deps.allowedOrigins.length > 0 && !deps.allowedOrigins.includes(origin)) return refuseUpgrade(socket, 403, 'Forbidden');
    const address = clientAddress(request, deps.trustProxy);
    try {
      await deps.rateLimits.chargeConnection({ clientAddress: address, requestId: randomUUID() });
    } catch (error) {
      if (error instanceof AppError) {
        const retryAfter = error.extras.retryAfter;
        return refuseUpgrade(socket, 429, 'Too Many Requests', retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
      }
      throw error;
    }
    if (deps.stopping() || socket.destroyed) return refuseUpgrade(socket, 503, 'Service Unavailable');
    deps.accept(request, socket, head, address);
  };
  return (request, socket, head) => {
    socket.on('error', () => {}); // a client that vanishes mid-handshake is not our error
    void gate(request, socket, head).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'unhandled error in WebSocket upgrade');
      refuseUpgrade(socket, 500, 'Internal Server Error');
    });
  };
}

function refuseUpgrade(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n`);
}
