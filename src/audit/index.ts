/** The audit feature's port. */
export { createAuditFeature } from './audit.feature.js';
export type { AuditService, AuditPage } from './audit.service.js';
