import { z } from 'zod';
import { ROLES, type User } from '../users/user.js';
import { SESSION_END_REASONS, type Session, type SessionEndReason } from './session.js';

/**
 * What the door announces after a change committed, on every instance:
 * sockets close or re-check, `sessionEvents` streams, metrics count.
 */
export type AuthEvent =
  | { readonly type: 'session_started'; readonly userId: string; readonly session: Session }
  | { readonly type: 'sessions_ended'; readonly userId: string; readonly sessionIds: readonly string[]; readonly reason: SessionEndReason }
  | { readonly type: 'roles_changed'; readonly userId: string; readonly user: User }
  /** API keys revoked (by their owner, an admin or the CLI): their sockets close, on every instance. */
  | { readonly type: 'api_keys_revoked'; readonly userId: string; readonly keyIds: readonly string[] };

/**
 * What one write through the door changed, as it committed it: what the
 * session guard must forget or replace before the request answers.
 */
export interface AuthChange {
  /** Sessions the write ended. */
  readonly endedSessionIds?: readonly string[];
  /** The user as the write left them (roles, or only what they show: address, verification). */
  readonly user?: User;
}

const date = z.coerce.date();

/** A User as it travels between instances (JSON turns its Date into a string). */
const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  roles: z.array(z.enum(ROLES)),
  createdAt: date,
  email: z.string().nullable(),
  emailVerified: z.boolean(),
});

/** A Session as it travels between instances. */
const sessionSchema = z.object({
  id: z.string(),
  userId: z.string(),
  createdAt: date,
  lastUsedAt: date,
  expiresAt: date,
  endedAt: date.nullable(),
  userAgent: z.string().nullable(),
  refreshGeneration: z.number().int(),
  amr: z.array(z.string()).nullable(),
});

/** The one codec of AuthEvent: every field checked, Dates revived, unknown types refused. */
const authEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session_started'), userId: z.string(), session: sessionSchema }),
  z.object({ type: z.literal('sessions_ended'), userId: z.string(), sessionIds: z.array(z.string()), reason: z.enum(SESSION_END_REASONS) }),
  z.object({ type: z.literal('roles_changed'), userId: z.string(), user: userSchema }),
  z.object({ type: z.literal('api_keys_revoked'), userId: z.string(), keyIds: z.array(z.string()) }),
]);

/** An event as it travels between instances, with the instance that published it. */
const wireMessageSchema = z.object({ origin: z.string(), event: authEventSchema });

/** An event and the instance it came from. */
export interface WireMessage {
  readonly origin: string;
  readonly event: AuthEvent;
}

/** Writes a message for the shared channel. */
export function encodeWireMessage(message: WireMessage): string {
  return JSON.stringify(message);
}

/** Reads a message from the shared channel back into an event; null when it is not one (the channel may be shared). */
export function decodeWireMessage(text: string): WireMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = wireMessageSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
