import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { signup, startServer, type GqlResponse, type TestServer } from '../helpers/server.js';

/*
 * Finished keys are pruned: a revoked or expired key answers TOKEN_REVOKED or
 * TOKEN_EXPIRED while its row is kept (SESSION_RETENTION), then the pruner
 * removes the row; keys still working are never touched. Runs on
 * SQLite and on PostgreSQL + Redis.
 */

const CREATE = 'mutation ($n: String!, $e: Int) { createApiKey(name: $n, scopes: [PROFILE], expiresIn: $e) { key apiKey { id } } }';
const DAY = 86_400;

describe('pruning API keys', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ SESSION_RETENTION: '2d' }, { deps: { clock } });
  });
  afterAll(() => server.stop());

  const reason = (res: GqlResponse) => res.body.errors?.[0]?.extensions?.reason;
  const me = (key: string) => server.gql('{ me { id } }', {}, { token: key });

  it('keeps a finished key as long as ended sessions, then removes it, and never a working one', async () => {
    const owner = await signup(server, 'pruned-keys');
    const create = async (name: string, expiresIn: number | null) =>
      (await server.gql<{ createApiKey: { key: string; apiKey: { id: string } } }>(CREATE, { n: name, e: expiresIn }, { token: owner.accessToken })).body.data!.createApiKey;
    const revoked = await create('revoked', null);
    const expiring = await create('expiring', 3_600);
    const working = await create('working', 365 * DAY);
    expect((await server.gql('mutation ($id: ID!) { revokeApiKey(id: $id) }', { id: revoked.apiKey.id }, { token: owner.accessToken })).body.data).toEqual({ revokeApiKey: true });

    clock.advance(DAY);
    expect((await server.app.pruner.runOnce()).api_keys).toBe(0);
    expect(reason(await me(revoked.key))).toBe('TOKEN_REVOKED');
    expect(reason(await me(expiring.key))).toBe('TOKEN_EXPIRED');

    clock.advance(1.5 * DAY); // 2.5 days after the revocation, 2.46 after the expiry: both past SESSION_RETENTION
    expect((await server.app.pruner.runOnce()).api_keys).toBe(2);
    const left = await server.app.db.selectFrom('credentials').select('id').where('kind', '=', 'api_key').where('user_id', '=', owner.user.id).execute();
    expect(left).toEqual([{ id: working.apiKey.id }]);
    // Still refused: an instance that cached the key's state keeps its reason until the entry goes; one that did not finds no row.
    for (const key of [revoked.key, expiring.key]) expect((await me(key)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await me(working.key)).body.errors).toBeUndefined();
  });
});
