import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Social sign-in flows in progress, stored server-side so that any instance
 * on the same database can finish a flow another one started. One row per
 * flow: the `state` (by hash only) and the browser it is bound to (a hash of
 * its cookie), then, once the provider answered, the one-time code (by hash
 * only) and the identity the ID token proved. No verifier or nonce is kept:
 * both are derived from `state` with a server key. Frozen in time.
 */
export function oauthFlows(dialect: 'sqlite' | 'postgres'): Migration {
  const time = dialect === 'postgres' ? sql`timestamptz` : sql`text`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('oauth_flows')
        // SHA-256 of `state`: the value itself travels only through the browser.
        .addColumn('state_hash', 'text', (c) => c.primaryKey())
        .addColumn('provider', 'text', (c) => c.notNull())
        // SHA-256 of the tg_oauth cookie of the browser that started the flow.
        .addColumn('binding_hash', 'text', (c) => c.notNull())
        .addColumn('redirect_to', 'text', (c) => c.notNull())
        // startOAuth(link: true): the signed-in user the identity is for. No foreign key: a flow never outlives its 10 minutes by much.
        .addColumn('link_user_id', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('state_used_at', time)
        // SHA-256 of the one-time code handed to the app as #tg_code.
        .addColumn('code_hash', 'text', (c) => c.unique())
        .addColumn('code_expires_at', time)
        .addColumn('code_used_at', time)
        // JSON: issuer, subject and the claims the sign-in uses (email, email_verified, preferred_username).
        .addColumn('identity', 'text')
        .execute();
      await db.schema.createIndex('oauth_flows_expires_at_idx').on('oauth_flows').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('oauth_flows').execute();
    },
  };
}
