/** The mfa feature's port: what other features and the app may use of it. */
export { createMfaFeature, type MfaFeature } from './mfa.feature.js';
export { mfaMigrations } from './mfa.migrations.js';
export { TotpService } from './totp.service.js';
