/** The api-keys feature's port: what the app, the transports and the CLI may use of it. */
export { createApiKeysFeature, type ApiKeysFeature } from './api-keys.feature.js';
export { ApiKeyService, API_KEY_OUTCOMES, CLI_ACTOR, type ApiKeyOutcome, type Actor } from './api-key.service.js';
export type { ApiKey, NewApiKey } from './api-key.js';
export { API_KEY_PREFIX, BASE62_ALPHABET, checksumOf, generateApiKey, isWellFormedApiKey } from './api-key-format.js';
export { KeyRateLimit } from './key-rate-limit.js';
