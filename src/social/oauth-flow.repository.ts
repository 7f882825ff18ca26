import type { Db } from '../db/database.js';
import { toDate, toTimestamp } from '../db/tables.js';

/*
 * The `oauth_flows` table: one row per social sign-in in progress. Every
 * secret is stored as a SHA-256 hash (state, the browser binding, the
 * one-time code); each step claims its row with a compare-and-set, so a
 * state or a code works once on any instance.
 */

/** What the ID token proved, kept with the flow until the app redeems the one-time code. */
export interface ProvenIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly preferredUsername: string | null;
}

/** A flow as the callback and completeOAuth read it. */
export interface StoredFlow {
  readonly stateHash: string;
  readonly provider: string;
  readonly bindingHash: string;
  readonly redirectTo: string;
  readonly linkUserId: string | null;
  readonly expiresAt: Date;
  readonly stateUsed: boolean;
  readonly codeExpiresAt: Date | null;
  readonly codeUsed: boolean;
  readonly identity: ProvenIdentity | null;
}

/** Stores a new flow (startOAuth). */
export async function insertFlow(
  db: Db,
  flow: { stateHash: string; provider: string; bindingHash: string; redirectTo: string; linkUserId: string | null; now: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('oauth_flows')
    .values({
      state_hash: flow.stateHash,
      provider: flow.provider,
      binding_hash: flow.bindingHash,
      redirect_to: flow.redirectTo,
      link_user_id: flow.linkUserId,
      created_at: toTimestamp(flow.now),
      expires_at: toTimestamp(flow.expiresAt),
    })
    .execute();
}

const COLUMNS = ['state_hash', 'provider', 'binding_hash', 'redirect_to', 'link_user_id', 'expires_at', 'state_used_at', 'code_expires_at', 'code_used_at', 'identity'] as const;

type Row = { [K in (typeof COLUMNS)[number]]: unknown };

function toFlow(row: Row): StoredFlow {
  return {
    stateHash: row.state_hash as string,
    provider: row.provider as string,
    bindingHash: row.binding_hash as string,
    redirectTo: row.redirect_to as string,
    linkUserId: (row.link_user_id as string | null) ?? null,
    expiresAt: toDate(row.expires_at as Date | string),
    stateUsed: row.state_used_at !== null,
    codeExpiresAt: row.code_expires_at === null ? null : toDate(row.code_expires_at as Date | string),
    codeUsed: row.code_used_at !== null,
    identity: row.identity === null ? null : (JSON.parse(row.identity as string) as ProvenIdentity),
  };
}

/** A flow by the hash of its state, or null. */
export async function findFlowByState(db: Db, stateHash: string): Promise<StoredFlow | null> {
  const row = await db.selectFrom('oauth_flows').select(COLUMNS).where('state_hash', '=', stateHash).executeTakeFirst();
  return row ? toFlow(row) : null;
}

/** A flow by the hash of its one-time code, or null. */
export async function findFlowByCode(db: Db, codeHash: string): Promise<StoredFlow | null> {
  const row = await db.selectFrom('oauth_flows').select(COLUMNS).where('code_hash', '=', codeHash).executeTakeFirst();
  return row ? toFlow(row) : null;
}

/** Spends a live state; false when it was used (by a replay, or a parallel callback) or has expired. */
export async function claimState(db: Db, stateHash: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('oauth_flows')
    .set({ state_used_at: toTimestamp(now) })
    .where('state_hash', '=', stateHash)
    .where('state_used_at', 'is', null)
    .where('expires_at', '>', toTimestamp(now))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Records what the provider proved, with the one-time code that redeems it. */
export async function storeProof(db: Db, stateHash: string, proof: { codeHash: string; codeExpiresAt: number; identity: ProvenIdentity }): Promise<void> {
  await db
    .updateTable('oauth_flows')
    .set({ code_hash: proof.codeHash, code_expires_at: toTimestamp(proof.codeExpiresAt), identity: JSON.stringify(proof.identity) })
    .where('state_hash', '=', stateHash)
    .execute();
}

/** Spends a live one-time code; false when it was used or has expired. The identity it carried is erased with it. */
export async function claimCode(db: Db, codeHash: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('oauth_flows')
    .set({ code_used_at: toTimestamp(now) })
    .where('code_hash', '=', codeHash)
    .where('code_used_at', 'is', null)
    .where('code_expires_at', '>', toTimestamp(now))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Erases the claims a spent code carried (an address is personal data: kept no longer than the sign-in needs). */
export async function forgetIdentity(db: Db, codeHash: string): Promise<void> {
  await db.updateTable('oauth_flows').set({ identity: null }).where('code_hash', '=', codeHash).execute();
}

/** Deletes up to `limit` flows that expired before `before`; returns how many (for the pruner). */
export async function pruneFlows(db: Db, before: number, limit: number): Promise<number> {
  const expired = db.selectFrom('oauth_flows').select('state_hash').where('expires_at', '<=', toTimestamp(before)).limit(limit);
  const result = await db.deleteFrom('oauth_flows').where('state_hash', 'in', expired).executeTakeFirst();
  return Number(result.numDeletedRows);
}
