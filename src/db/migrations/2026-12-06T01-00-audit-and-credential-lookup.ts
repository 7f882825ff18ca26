import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Wave 3's shared ground. `credentials` gains what kinds with many rows per
 * user need: a `name` the user gives (passkeys, API keys), a `lookup` found
 * without knowing the user (a passkey's credential id, an identity's issuer
 * and subject, an API key's hash), unique per kind, and an `expires_at`
 * (API keys). `audit_events` is the audit trail, written in the transaction
 * of the change it records.
 *
 * Frozen in time, written against Kysely<unknown>.
 */
export function auditAndCredentialLookup(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('credentials').addColumn('name', 'text').execute();
      await db.schema.alterTable('credentials').addColumn('lookup', 'text').execute();
      await db.schema.alterTable('credentials').addColumn('expires_at', time).execute();
      // One passkey id, one (issuer, sub), one API key hash in the whole table, whoever holds it.
      await db.schema.createIndex('credentials_lookup_idx').on('credentials').columns(['kind', 'lookup']).unique().where(sql.ref('lookup'), 'is not', null).execute();
      // The pruner finds finished API keys by it.
      await db.schema.createIndex('credentials_expiry_idx').on('credentials').columns(['kind', 'expires_at']).where(sql.ref('expires_at'), 'is not', null).execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // Orders events that share a millisecond; the cursor is (at, seq).
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('at', time, (c) => c.notNull())
        // No foreign keys: the trail outlives the users and sessions it names.
        .addColumn('user_id', 'text')
        .addColumn('actor_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('audit_events_at_idx').on('audit_events').columns(['at', 'seq']).execute();
      await db.schema.createIndex('audit_events_user_idx').on('audit_events').columns(['user_id', 'at', 'seq']).execute();
      await db.schema.createIndex('audit_events_type_idx').on('audit_events').columns(['type', 'at', 'seq']).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('audit_events').execute();
      await db.schema.dropIndex('credentials_expiry_idx').execute();
      await db.schema.dropIndex('credentials_lookup_idx').execute();
      for (const column of ['expires_at', 'lookup', 'name']) await db.schema.alterTable('credentials').dropColumn(column).execute();
    },
  };
}
