/** The email feature's port: what other features and the app may use of it. */
export { createEmailFeature, type EmailFeature } from './email.feature.js';
export { emailMigrations } from './email.migrations.js';
export type { EmailService, NormalizedEmail } from './email.service.js';
export type { OutboxWorker } from './mail/outbox-worker.js';
