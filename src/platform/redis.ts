import { Redis } from 'ioredis';

export type { Redis };

/**
 * Opens the shared Redis connection. Commands fail at once while Redis is
 * away (no offline queue, no retries per request), so callers can fall back
 * or refuse instead of hanging; the client keeps reconnecting by itself.
 */
export function openRedis(url: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  });
  // Connection errors are expected while Redis is down; readiness reports them.
  client.on('error', () => {});
  return client;
}
