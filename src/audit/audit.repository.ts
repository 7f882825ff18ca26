import type { Db } from '../db/database.js';
import { toDate, toTimestamp } from '../db/tables.js';

/** An audit event as it is read back. */
export interface AuditEvent {
  readonly id: string;
  readonly type: string;
  readonly at: Date;
  readonly userId: string | null;
  readonly actorId: string | null;
  readonly sessionId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly details: Record<string, unknown> | null;
}

/** Where a page starts: after the event with this time, sequence number and id (newest first). */
export interface AuditCursor {
  readonly at: string;
  readonly seq: number;
  readonly id: string;
}

/** Which events a page holds. */
export interface AuditFilter {
  readonly userId?: string | null;
  readonly type?: string | null;
}

/**
 * One page of audit events, newest first. The order (at, seq, id) is total
 * and never changes for rows already written, so a cursor stays valid while
 * new events arrive: they land before the first page, not inside a later one.
 */
export async function listAuditEvents(
  db: Db,
  filter: AuditFilter,
  page: { readonly first: number; readonly after: AuditCursor | null },
): Promise<{ readonly events: Array<AuditEvent & { readonly seq: number }>; readonly hasNextPage: boolean }> {
  let query = db.selectFrom('audit_events').selectAll().orderBy('at', 'desc').orderBy('seq', 'desc').orderBy('id', 'desc').limit(page.first + 1);
  if (filter.userId) query = query.where('user_id', '=', filter.userId);
  if (filter.type) query = query.where('type', '=', filter.type);
  if (page.after) {
    const { at, seq, id } = page.after;
    const time = toTimestamp(Date.parse(at));
    query = query.where((eb) =>
      eb.or([
        eb('at', '<', time),
        eb.and([eb('at', '=', time), eb('seq', '<', seq)]),
        eb.and([eb('at', '=', time), eb('seq', '=', seq), eb('id', '<', id)]),
      ]),
    );
  }
  const rows = await query.execute();
  return {
    events: rows.slice(0, page.first).map((row) => ({
      id: row.id,
      seq: Number(row.seq),
      type: row.type,
      at: toDate(row.at),
      userId: row.user_id,
      actorId: row.actor_id,
      sessionId: row.session_id,
      ip: row.ip,
      userAgent: row.user_agent,
      details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    })),
    hasNextPage: rows.length > page.first,
  };
}

/** Deletes up to `limit` events older than `before`; returns how many went. */
export async function pruneAuditEvents(db: Db, before: number, limit: number): Promise<number> {
  const old = db.selectFrom('audit_events').select('id').where('at', '<', toTimestamp(before)).limit(limit);
  const result = await db.deleteFrom('audit_events').where('id', 'in', old).executeTakeFirst();
  return Number(result.numDeletedRows);
}
