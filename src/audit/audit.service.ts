import { badInput } from '../errors.js';
import type { Db } from '../db/database.js';
import * as audit from './audit.repository.js';

/** One page of audit events, as `AuditEventConnection` answers it. */
export interface AuditPage {
  readonly nodes: readonly audit.AuditEvent[];
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/** The largest page a caller may ask for. */
export const MAX_AUDIT_PAGE = 200;

/**
 * Reading the audit trail (docs/api.md, "Audit"). The trail is written by
 * the door, in the transaction of each change (sessions/audit-trail.ts);
 * this service only reads it: admins any user's events, a user their own.
 */
export class AuditService {
  constructor(private readonly deps: { readonly db: Db }) {}

  /** Any user's events (the permission layer has checked ADMIN), newest first, filtered by user and type. */
  list(first: number, after: string | null, filter: audit.AuditFilter): Promise<AuditPage> {
    return this.page(first, after, filter);
  }

  /** The caller's own events, newest first. */
  listOwn(userId: string, first: number, after: string | null): Promise<AuditPage> {
    return this.page(first, after, { userId });
  }

  private async page(first: number, after: string | null, filter: audit.AuditFilter): Promise<AuditPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_AUDIT_PAGE) throw badInput('first', `first must be between 1 and ${MAX_AUDIT_PAGE}.`);
    const cursor = after === null ? null : decodeCursor(after);
    const { events, hasNextPage } = await audit.listAuditEvents(this.deps.db, filter, { first, after: cursor });
    const last = events.at(-1);
    return {
      nodes: events,
      endCursor: last ? encodeCursor({ at: last.at.toISOString(), seq: last.seq, id: last.id }) : null,
      hasNextPage,
    };
  }
}

function encodeCursor(cursor: audit.AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.seq, cursor.id]), 'utf8').toString('base64url');
}

function decodeCursor(text: string): audit.AuditCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3) {
      const [at, seq, id] = value as unknown[];
      if (typeof at === 'string' && !Number.isNaN(Date.parse(at)) && Number.isSafeInteger(seq) && typeof id === 'string') return { at, seq: seq as number, id };
    }
  } catch {
    // falls through to the refusal below
  }
  throw badInput('after', 'after must be an endCursor from an earlier page.');
}
