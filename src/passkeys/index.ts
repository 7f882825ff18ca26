/** The passkeys feature's port: what the app may use of it. */
export { createPasskeysFeature, type PasskeysFeature } from './passkeys.feature.js';
export { passkeysMigrations } from './passkeys.migrations.js';
export type { PasskeyService } from './passkey.service.js';
export type { Passkey } from './passkey.js';
