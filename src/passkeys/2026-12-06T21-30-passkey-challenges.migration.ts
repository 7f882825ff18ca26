import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Passkey ceremonies in flight: one row per challenge handed out by
 * startPasskeyRegistration or startPasskeyLogin, taken (deleted) by the
 * finishing call. In the database rather than in process memory, so on
 * PostgreSQL + Redis any instance can finish a ceremony another started.
 * Passkeys themselves are `credentials` rows (kind 'passkey'). Additive
 * only; frozen in time, written against Kysely<unknown>.
 */
export function passkeyChallenges(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('passkey_challenges')
        // SHA-256 of the challenge (base64url): the row is found from clientDataJSON without storing the value itself.
        .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
        // 'registration', 'login' (any discoverable credential) or 'login_named' (only user_id's credentials).
        .addColumn('purpose', 'text', (c) => c.notNull())
        // Registration: who is registering. login_named: whom the username named (null when nobody: nothing can match).
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('passkey_challenges_expires_at_idx').on('passkey_challenges').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('passkey_challenges').execute();
    },
  };
}
