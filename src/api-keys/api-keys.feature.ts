import { Counter } from 'prom-client';
import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { makeLimiter } from '../core/rate-limits.js';
import { API_KEY_OUTCOMES, ApiKeyService } from './api-key.service.js';
import { apiKeysResolvers } from './api-keys.resolvers.js';
import { pruneFinishedApiKeys } from './api-key.repository.js';
import { KeyRateLimit } from './key-rate-limit.js';

/** What the api-keys feature offers the app: the service (the context builder verifies keys with it; the CLI revokes). */
export interface ApiKeysFeature extends Feature {
  readonly apiKeys: ApiKeyService;
}

/**
 * Personal access tokens (docs/api.md, "API keys (personal access tokens)"):
 * keys stored as hashes in `credentials` (kind `api_key`), held to the scopes
 * the SDL declares with `@apiKey` (graphql/permissions.ts), revoked through
 * the door. No table of its own: a key is one more credential of its user.
 */
export function createApiKeysFeature(core: Core): ApiKeysFeature {
  const { config } = core;
  const requests = new Counter({
    name: 'tokengate_api_key_requests_total',
    help: 'Requests made with an API key, by outcome (ok, invalid, revoked, expired, rate_limited).',
    labelNames: ['outcome'] as const,
    registers: [core.metrics.registry],
  });
  for (const outcome of API_KEY_OUTCOMES) requests.inc({ outcome }, 0);
  const apiKeys = new ApiKeyService({
    db: core.db,
    clock: core.clock,
    sessions: core.sessions,
    rateLimit: new KeyRateLimit(
      makeLimiter(
        core.redis && config.redis ? { client: core.redis, prefix: config.redis.prefix } : null,
        'api-key',
        config.apiKeys.rateLimit.points,
        config.apiKeys.rateLimit.duration,
      ),
      config.apiKeys.rateLimit,
      core.clock,
      core.logger,
    ),
    requests,
    logger: core.logger,
  });
  return {
    name: 'api-keys',
    schema: ['api-keys.graphql'],
    resolvers: apiKeysResolvers(apiKeys),
    apiKeys,
    // Kept as long as ended sessions are (SESSION_RETENTION), so a revoked key is told apart from an unknown one meanwhile.
    pruneTasks: [{ name: 'api_keys', prune: (now, limit) => pruneFinishedApiKeys(core.db, now - config.operations.sessionRetention * 1000, limit) }],
    async start() {
      apiKeys.start();
    },
    stop: () => apiKeys.stop(),
  };
}
