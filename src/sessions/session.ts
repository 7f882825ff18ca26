import type { User } from '../users/user.js';

/** A session as the rest of the code sees it. */
export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly endedAt: Date | null;
  readonly userAgent: string | null;
  readonly refreshGeneration: number;
  /** RFC 8176 methods that opened the session (`pwd`, `otp`, `recovery`); its tokens carry them as `amr`. Null for sessions older than TOTP. */
  readonly amr: readonly string[] | null;
}

/** Every reason a session can end with; stored for operators, never shown to other users. */
export const SESSION_END_REASONS = ['logout', 'logout_all', 'revoked', 'password_changed', 'refresh_reuse', 'password_reset', 'mfa_reset', 'admin_revoked'] as const;

/** Why a session ended. */
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** The outcome of checking an access token's session against current server state. */
export type SessionCheck = { readonly active: true; readonly user: User } | { readonly active: false };

/** Whether a session can still be used at `nowMs`. */
export function isSessionActive(session: Pick<Session, 'endedAt' | 'expiresAt'>, nowMs: number): boolean {
  return session.endedAt === null && session.expiresAt.getTime() > nowMs;
}
