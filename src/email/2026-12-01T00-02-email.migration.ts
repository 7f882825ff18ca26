import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Email addresses, one-time link tokens and the mail outbox. Frozen in time,
 * like every migration. Only adds to `users` (other branches add columns too).
 */
export function email(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('email', 'text').execute();
      // Lower-cased address: compared and kept unique case-insensitively. NULL (no address) never collides.
      await db.schema.alterTable('users').addColumn('email_key', 'text').execute();
      await db.schema.alterTable('users').addColumn('email_verified_at', time).execute();
      await db.schema.createIndex('users_email_key_idx').on('users').column('email_key').unique().execute();

      await db.schema
        .createTable('email_tokens')
        // SHA-256 of the token: the link's secret is never stored.
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        // The address the link was sent to: a link for an address the user has since replaced verifies nothing.
        .addColumn('email_key', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('used_at', time)
        .execute();
      await db.schema.createIndex('email_tokens_user_kind_idx').on('email_tokens').columns(['user_id', 'kind']).execute();
      await db.schema.createIndex('email_tokens_expires_at_idx').on('email_tokens').column('expires_at').execute();

      await db.schema
        .createTable('mail_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        // "to" is a reserved word in SQL.
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        // The bodies hold the link: erased (NULL) once the mail is sent or given up.
        .addColumn('text_body', 'text')
        .addColumn('html_body', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', time, (c) => c.notNull())
        // A worker's lease on the row while it sends; an expired lease (crashed worker) frees the row.
        .addColumn('claimed_until', time)
        .addColumn('sent_at', time)
        .addColumn('failed_at', time)
        // The last SMTP failure, without the body, the link or credentials.
        .addColumn('last_error', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mail_outbox_due_idx').on('mail_outbox').columns(['sent_at', 'failed_at', 'next_attempt_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('mail_outbox').execute();
      await db.schema.dropTable('email_tokens').execute();
      await db.schema.dropIndex('users_email_key_idx').execute();
      await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
      await db.schema.alterTable('users').dropColumn('email_key').execute();
      await db.schema.alterTable('users').dropColumn('email').execute();
    },
  };
}
