/** The social sign-in feature's port: what the app may use of it. */
export { createSocialFeature, type SocialFeature } from './social.feature.js';
export { socialMigrations } from './social.migrations.js';
export type { SocialService } from './social.service.js';
