import { budget, type Budget } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** API keys (docs/api.md, "API keys (personal access tokens)"). */
export interface ApiKeysConfig {
  /** Requests one key may make per window, on every instance together (shared through Redis when configured). */
  readonly rateLimit: Budget;
}

const fields = {
  API_KEY_RATE_LIMIT: budget('API_KEY_RATE_LIMIT').prefault('600/1m'),
};

/** API_KEY_RATE_LIMIT. */
export const apiKeysSection: ConfigSection<typeof fields, { readonly apiKeys: ApiKeysConfig }> = {
  title: 'API keys',
  notes: 'See [API keys](../guides/api-keys.md).',
  fields,
  docs: {
    API_KEY_RATE_LIMIT:
      'Requests one API key may make per window (`N/duration`); beyond it the key\'s fields answer `RATE_LIMITED` with `retryAfter`. Counted in Redis when configured (all instances together), else per instance.',
  },
  build: (e) => ({ apiKeys: Object.freeze({ rateLimit: Object.freeze(e.API_KEY_RATE_LIMIT) }) }),
};
