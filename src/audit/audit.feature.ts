import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { pruneAuditEvents } from './audit.repository.js';
import { auditResolvers } from './audit.resolvers.js';
import { AuditService } from './audit.service.js';

/**
 * The audit trail, read side (docs/api.md, "Audit"): `auditEvents` for
 * admins, `myAuditEvents` for everyone signed in, and pruning past
 * AUDIT_RETENTION. The events are written by the door (the core), in the
 * transaction of each change, so no feature can change who may sign in
 * without a trace; the table is a core migration for the same reason.
 */
export function createAuditFeature(core: Core): Feature & { readonly audit: AuditService } {
  const { db, config } = core;
  const audit = new AuditService({ db });
  return {
    name: 'audit',
    schema: ['audit.graphql'],
    resolvers: auditResolvers(audit),
    pruneTasks: [{ name: 'audit_events', prune: (now, limit) => pruneAuditEvents(db, now - config.operations.auditRetention * 1000, limit) }],
    audit,
  };
}
