import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Two-factor authentication (TOTP). Additive only: new nullable columns on
 * `users` and `sessions`, and two new tables, so it commutes with the other
 * wave-2 migrations that touch `users`. Frozen in time, written against
 * Kysely<unknown>. SQLite takes one ADD COLUMN per ALTER TABLE.
 */
export function totp(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      // AES-256-GCM ciphertexts (never the plain secret), see credentials/secret-box.ts.
      await db.schema.alterTable('users').addColumn('totp_secret', 'text').execute();
      await db.schema.alterTable('users').addColumn('totp_pending_secret', 'text').execute();
      // Non-null exactly while TOTP is on.
      await db.schema.alterTable('users').addColumn('totp_enabled_at', time).execute();
      // The highest 30-second step whose code was accepted: a code is accepted at most once, on any instance.
      await db.schema.alterTable('users').addColumn('totp_last_step', 'integer').execute();
      // JSON array of RFC 8176 methods the session was opened with (`["pwd"]`, `["pwd","otp"]`); null for older sessions.
      await db.schema.alterTable('sessions').addColumn('amr', 'text').execute();

      await db.schema
        .createTable('recovery_codes')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
        .execute();

      await db.schema
        .createTable('mfa_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('used_at', time)
        .execute();
      await db.schema.createIndex('mfa_tokens_user_id_idx').on('mfa_tokens').column('user_id').execute();
      await db.schema.createIndex('mfa_tokens_expires_at_idx').on('mfa_tokens').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('mfa_tokens').execute();
      await db.schema.dropTable('recovery_codes').execute();
      await db.schema.alterTable('sessions').dropColumn('amr').execute();
      for (const column of ['totp_last_step', 'totp_enabled_at', 'totp_pending_secret', 'totp_secret']) {
        await db.schema.alterTable('users').dropColumn(column).execute();
      }
    },
  };
}
