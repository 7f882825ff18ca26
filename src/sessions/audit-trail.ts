import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import { toTimestamp } from '../db/tables.js';
import type { RequestMeta } from '../platform/request-meta.js';

/**
 * One security event, as a write records it. `details` holds facts, never a
 * secret: no password, token, code, key, challenge or hash of one may go in
 * (the trail is read by admins and by the user, and kept for months).
 */
export interface AuditEntry {
  /** `<family>.<what>`, e.g. `login.success`, `passkey.registered`, `session.ended` (docs/api.md, "Audit"). */
  readonly type: string;
  /** Whom the event is about; null when nobody is known (a login for an unknown username). */
  readonly userId?: string | null;
  /** Who made it happen, when not the user themselves (an admin, the CLI); defaults to `userId`. */
  readonly actorId?: string | null;
  /** The session the change was made from, if any. */
  readonly sessionId?: string | null;
  /** The request's address and user agent. */
  readonly meta?: Pick<RequestMeta, 'clientAddress' | 'userAgent'> | null;
  /** Non-secret facts about the event (method, reason, counts, ids). */
  readonly details?: Readonly<Record<string, unknown>> | null;
}

/** Who and where a write through the door comes from: the defaults of the events it records. */
export interface AuditContext {
  /** Who made the change, when not the user it is about (an admin, the CLI). */
  readonly actorId?: string | null;
  /** The session the change was made from. */
  readonly sessionId?: string | null;
  readonly meta?: AuditEntry['meta'];
}

/** An entry with the door's user and context filled in where the write left them out. */
export function withContext(entry: AuditEntry, userId: string | null, context: AuditContext): AuditEntry {
  return {
    ...entry,
    userId: entry.userId !== undefined ? entry.userId : userId,
    actorId: entry.actorId !== undefined ? entry.actorId : (context.actorId ?? undefined),
    sessionId: entry.sessionId !== undefined ? entry.sessionId : (context.sessionId ?? null),
    meta: entry.meta !== undefined ? entry.meta : (context.meta ?? null),
  };
}

/** A strictly increasing number per process: orders events written in the same millisecond. */
let lastSeq = 0;
function nextSeq(now: number): number {
  // Milliseconds times 1000 plus a counter: ordered across restarts, unique enough within one.
  lastSeq = Math.max(lastSeq + 1, now * 1000);
  return lastSeq;
}

/** Writes audit events in `db` (the transaction of the change they record). */
export async function insertAuditEvents(db: Db, entries: readonly AuditEntry[], now: number): Promise<void> {
  if (entries.length === 0) return;
  const at = toTimestamp(now);
  await db
    .insertInto('audit_events')
    .values(
      entries.map((entry) => ({
        id: randomUUID(),
        seq: nextSeq(now),
        type: entry.type,
        at,
        user_id: entry.userId ?? null,
        actor_id: entry.actorId ?? entry.userId ?? null,
        session_id: entry.sessionId ?? null,
        ip: entry.meta?.clientAddress ?? null,
        user_agent: entry.meta?.userAgent ?? null,
        details: entry.details && Object.keys(entry.details).length > 0 ? JSON.stringify(entry.details) : null,
      })),
    )
    .execute();
}
