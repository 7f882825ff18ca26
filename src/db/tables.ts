import type { ColumnType } from 'kysely';

/**
 * Times are written as ISO 8601 strings (SQLite has no date type; PostgreSQL
 * stores them as timestamptz) and read back as Date (pg) or string (SQLite);
 * repositories turn them into Date once, with toDate.
 */
export type Timestamp = ColumnType<Date | string, string, string>;

/** The `users` table. */
export interface UserTable {
  id: string;
  username: string;
  /** Lower-cased username, unique: names are compared case-insensitively. */
  username_key: string;
  /** JSON array of Role. */
  roles: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The address as written (trimmed); null when none is set. */
  email: string | null;
  /** Lower-cased address, unique: addresses are compared case-insensitively. */
  email_key: string | null;
  /** When the current address was proven; null while unverified. */
  email_verified_at: Timestamp | null;
}

/** The `sessions` table: one row per login, kept after it ends (for reuse detection and audit). */
export interface SessionTable {
  id: string;
  user_id: string;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Timestamp;
  ended_at: Timestamp | null;
  end_reason: string | null;
  user_agent: string | null;
  /** Generation of the session's one live refresh token. */
  refresh_generation: number;
  /** JSON array of the RFC 8176 methods that opened the session; a refresh keeps them. Null for older sessions. */
  amr: ColumnType<string | null, string | null | undefined, string | null>;
}

/** What a `credentials` row holds; more kinds come with their features. */
export type CredentialKind = 'password' | 'totp' | 'totp_pending' | 'passkey' | 'identity' | 'api_key';

/** The `credentials` table: a user's ways to prove who they are, one row each. */
export interface CredentialTable {
  id: string;
  user_id: string;
  kind: CredentialKind;
  /** The stored secret, never the plain one: an Argon2id hash (password), an AES-256-GCM ciphertext (TOTP). */
  material: string;
  /** TOTP: the highest 30-second step accepted (replay guard). pg returns bigint as a string. */
  counter: ColumnType<number | string | null, number | null | undefined, number | null>;
  created_at: Timestamp;
  last_used_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
  /** What the user calls it (a passkey, an API key); null for kinds without a name. */
  name: ColumnType<string | null, string | null | undefined, string | null>;
  /** Found without knowing the user, unique per kind: a passkey's credential id, an identity's issuer and subject, an API key's hash. */
  lookup: ColumnType<string | null, string | null | undefined, string | null>;
  /** When it stops working (API keys); null for never. */
  expires_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
}

/** The `audit_events` table: the audit trail, one row per security event, written with the change it records. */
export interface AuditEventTable {
  id: string;
  /** Insertion order within a millisecond; the paging cursor is (at, seq). pg returns bigint as a string. */
  seq: ColumnType<number | string, number, never>;
  type: string;
  at: Timestamp;
  user_id: string | null;
  actor_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** A JSON object of non-secret facts; null when there are none. */
  details: string | null;
}

/** The `recovery_codes` table: a user's one-time TOTP recovery codes, by hash only. */
export interface RecoveryCodeTable {
  user_id: string;
  code_hash: string;
  created_at: Timestamp;
  used_at: Timestamp | null;
}

/** The `mfa_tokens` table: the second step of a login, by hash only. */
export interface MfaTokenTable {
  token_hash: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** Codes tried with this token; counted before each check, so parallel guesses cannot pass the limit. */
  failures: ColumnType<number, number | undefined, number>;
  used_at: Timestamp | null;
  /** JSON array of the first factor's RFC 8176 methods; null for tokens made before it was recorded (a password: `["pwd"]`). */
  amr: ColumnType<string | null, string | null | undefined, string | null>;
}

/** The `refresh_tokens` table: every token a session was given, by hash only. */
export interface RefreshTokenTable {
  token_hash: string;
  session_id: string;
  generation: number;
  created_at: Timestamp;
  /** When the token was first traded in; null for the live one. */
  used_at: Timestamp | null;
}

/** The `email_tokens` table: one-time link tokens (verification, password reset), by hash only. */
export interface EmailTokenTable {
  token_hash: string;
  user_id: string;
  /** 'verify_email' or 'reset_password'. */
  kind: string;
  /** The address key the link was sent to. */
  email_key: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** When it was used, or voided by a newer link; null while it works. */
  used_at: Timestamp | null;
}

/** The `mail_outbox` table: mail written in the transaction of its token, sent by the outbox worker. */
export interface MailOutboxTable {
  id: string;
  kind: string;
  user_id: string | null;
  to_address: string;
  subject: string;
  /** Erased (null) once sent or given up: no usable link stays at rest. */
  text_body: string | null;
  html_body: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  claimed_until: Timestamp | null;
  sent_at: Timestamp | null;
  failed_at: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
}

/** The `oauth_flows` table: social sign-ins in progress (src/social), secrets by hash only. */
export interface OAuthFlowTable {
  state_hash: string;
  provider: string;
  binding_hash: string;
  redirect_to: string;
  link_user_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  state_used_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
  code_hash: ColumnType<string | null, string | null | undefined, string | null>;
  code_expires_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
  code_used_at: ColumnType<Date | string | null, string | null | undefined, string | null>;
  /** JSON of the proven identity; null until the provider answered. */
  identity: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Every table, for Kysely<Database>. */
/** The `passkey_challenges` table: WebAuthn challenges handed out and not yet taken (src/passkeys/). */
export interface PasskeyChallengeTable {
  challenge_hash: string;
  purpose: 'registration' | 'login' | 'login_named';
  user_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface Database {
  users: UserTable;
  credentials: CredentialTable;
  audit_events: AuditEventTable;
  oauth_flows: OAuthFlowTable;
  sessions: SessionTable;
  refresh_tokens: RefreshTokenTable;
  email_tokens: EmailTokenTable;
  mail_outbox: MailOutboxTable;
  recovery_codes: RecoveryCodeTable;
  mfa_tokens: MfaTokenTable;
  passkey_challenges: PasskeyChallengeTable;
}

/** Reads a timestamp column as a Date, whichever dialect produced it. */
export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

/** Writes a time in the one format both dialects store and compare correctly. */
export function toTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}
