import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Credentials as rows: passwords and TOTP secrets leave `users` for a
 * `credentials` table (user, kind, material, counter, created, last used),
 * so a user may have no password (social sign-in), several factors of a kind
 * (passkeys) or a credential without a session (API keys). Every user keeps
 * signing in: each password hash, TOTP secret in use (with its replay step)
 * and pending TOTP enrollment is copied to a row before the columns go.
 * `mfa_tokens` gains `amr`: the first factor's methods, so the second step
 * can complete sign-ins that did not start with a password.
 *
 * Frozen in time, written against Kysely<unknown>. An upgrade from an earlier
 * release replaces every instance at once: an older instance cannot read
 * passwords from the new table.
 */
export function credentials(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  // A fresh id per copied row, made by the database (no row passes through the process).
  const newId = dialect === 'postgres' ? sql`gen_random_uuid()::text` : sql`lower(hex(randomblob(16)))`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        // 'password' (an Argon2id PHC string), 'totp' (AES-256-GCM sealed secret in use), 'totp_pending' (sealed secret awaiting confirmTotp).
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('material', 'text', (c) => c.notNull())
        // A number the kind keeps with its material: TOTP's last accepted step (replay guard), later a passkey's signature counter.
        .addColumn('counter', 'bigint')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .execute();
      await db.schema.createIndex('credentials_user_kind_idx').on('credentials').columns(['user_id', 'kind']).execute();
      // At most one password, one TOTP secret and one pending enrollment per user; other kinds may have many.
      await db.schema
        .createIndex('credentials_one_per_user_idx')
        .on('credentials')
        .columns(['user_id', 'kind'])
        .unique()
        .where(sql.ref('kind'), 'in', sql`('password', 'totp', 'totp_pending')`)
        .execute();

      await sql`insert into credentials (id, user_id, kind, material, counter, created_at, last_used_at)
        select ${newId}, id, 'password', password_hash, null, created_at, null from users`.execute(db);
      await sql`insert into credentials (id, user_id, kind, material, counter, created_at, last_used_at)
        select ${newId}, id, 'totp', totp_secret, totp_last_step, totp_enabled_at, null from users
        where totp_enabled_at is not null and totp_secret is not null`.execute(db);
      await sql`insert into credentials (id, user_id, kind, material, counter, created_at, last_used_at)
        select ${newId}, id, 'totp_pending', totp_pending_secret, null, updated_at, null from users
        where totp_pending_secret is not null`.execute(db);

      // SQLite takes one DROP COLUMN per ALTER TABLE.
      for (const column of ['password_hash', 'totp_secret', 'totp_pending_secret', 'totp_enabled_at', 'totp_last_step']) {
        await db.schema.alterTable('users').dropColumn(column).execute();
      }
      // JSON array of the first factor's RFC 8176 methods; null for tokens made before (a password sign-in).
      await db.schema.alterTable('mfa_tokens').addColumn('amr', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('mfa_tokens').dropColumn('amr').execute();
      await db.schema.alterTable('users').addColumn('password_hash', 'text').execute();
      await db.schema.alterTable('users').addColumn('totp_secret', 'text').execute();
      await db.schema.alterTable('users').addColumn('totp_pending_secret', 'text').execute();
      await db.schema.alterTable('users').addColumn('totp_enabled_at', time).execute();
      await db.schema.alterTable('users').addColumn('totp_last_step', 'integer').execute();
      const copy = (column: string, kind: string) =>
        sql`update users set ${sql.ref(column)} = (select material from credentials c where c.user_id = users.id and c.kind = ${kind})`.execute(db);
      await copy('password_hash', 'password');
      await copy('totp_secret', 'totp');
      await copy('totp_pending_secret', 'totp_pending');
      await sql`update users set totp_enabled_at = (select created_at from credentials c where c.user_id = users.id and c.kind = 'totp'),
        totp_last_step = (select counter from credentials c where c.user_id = users.id and c.kind = 'totp')`.execute(db);
      await db.schema.dropTable('credentials').execute();
    },
  };
}
