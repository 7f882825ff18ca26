import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/**
 * Indexes for the background pruner: each of its batches finds its rows
 * through one of these instead of scanning the table. Partial where the
 * column is mostly NULL (live tokens, open sessions), so they stay small.
 * Frozen in time like every migration.
 */
export function pruneIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('refresh_tokens_used_at_idx').on('refresh_tokens').column('used_at').where(sql.ref('used_at'), 'is not', null).execute();
      await db.schema.createIndex('sessions_ended_at_idx').on('sessions').column('ended_at').where(sql.ref('ended_at'), 'is not', null).execute();
      await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('sessions_expires_at_idx').execute();
      await db.schema.dropIndex('sessions_ended_at_idx').execute();
      await db.schema.dropIndex('refresh_tokens_used_at_idx').execute();
    },
  };
}
