import type { Resolvers } from '../graphql/generated/resolvers-types.js';
import { viewerOf } from '../graphql/resolvers/viewer.js';
import type { AuditService } from './audit.service.js';

/** The audit trail's queries. */
export function auditResolvers(audit: AuditService): Resolvers {
  return {
    Query: {
      auditEvents: (_parent, { first, after, userId, type }) => audit.list(first, after ?? null, { userId: userId ?? null, type: type ?? null }),
      myAuditEvents: (_parent, { first, after }, ctx) => audit.listOwn(viewerOf(ctx).user.id, first, after ?? null),
    },
  };
}
