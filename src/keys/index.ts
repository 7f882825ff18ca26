/** The keys feature's port: what other features and the app may use of it. */
export { createKeysFeature, type KeysFeature } from './keys.feature.js';
