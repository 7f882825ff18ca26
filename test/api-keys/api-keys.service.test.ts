import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeysFeature, type ApiKeysFeature } from '../../src/api-keys/index.js';
import { readApiKeyState } from '../../src/api-keys/api-key.repository.js';
import { apiKeySessionId, type Viewer } from '../../src/sessions/index.js';
import { BACKEND } from '../helpers/backend.js';
import { startCore, type CoreHarness } from '../helpers/core.js';
import { META, PASSWORD } from '../helpers/services.js';

/*
 * The api-keys feature on the core alone, and the race its cache must survive: a request that read a
 * key's state just before a revocation committed must not leave that state
 * cached (SQLite: the in-process guard's generations; PostgreSQL + Redis:
 * the epoch read before the database, replaced before and after the write).
 */
let h: CoreHarness;
let feature: ApiKeysFeature;
let viewer: Viewer;

beforeEach(async () => {
  h = await startCore();
  feature = createApiKeysFeature(h.core);
  const user = await h.core.users.createUser({ username: 'owner', password: PASSWORD, roles: ['USER'] });
  const session = await h.core.sessions.open((tx) =>
    tx.startSession({ userId: user.id, userAgent: null, now: h.clock.now(), expiresAt: h.clock.now() + 86_400_000, refreshTokenHash: 'y'.repeat(43), amr: ['pwd'] }),
  );
  viewer = { user, sessionId: session.id, fresh: true, tokenExpiresAt: h.clock.now() + 900_000 };
});
afterEach(async () => {
  await feature.stop?.();
  await h.stop();
});

describe(`API keys on the core alone (${BACKEND})`, () => {
  it('declares its SDL and no migration of its own (a key is a credentials row)', () => {
    expect(feature.schema).toEqual(['api-keys.graphql']);
    expect(feature.migrations).toBeUndefined();
  });

  it('does not cache a key state read just before a revocation committed', async () => {
    const { key, apiKey } = await feature.apiKeys.create(viewer, { name: 'race', scopes: ['PROFILE'] }, META);
    expect((await feature.apiKeys.verify(key, { charge: false })).ok).toBe(true); // the hash's owner is cached from here on
    // Any change through the door for the owner drops the cached state: the next check reads it again.
    await h.core.users.setRoles({ userId: viewer.user.id, sessionId: viewer.sessionId }, viewer.user.id, ['USER'], META);

    // A request reads the key's state (not revoked) through the guard, exactly as verify() does, and is held
    // there, after its read and before the guard may cache it (a paused query would hold SQLite's one connection).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let readDone!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    const reading = h.core.sessions.checkUserState(apiKeySessionId(apiKey.id), viewer.user.id, async () => {
      const state = await readApiKeyState(h.core.db, apiKey.id);
      readDone();
      await held;
      return state;
    });
    await read;
    expect(await feature.apiKeys.revoke(viewer, apiKey.id, META)).toBe(true);
    release();
    expect((await reading)?.revoked).toBe(false); // it read before the commit: that request was allowed

    expect(await feature.apiKeys.verify(key, { charge: false })).toEqual({ ok: false, reason: 'TOKEN_REVOKED' });
  });

  it('announces the revocation on the bus once it committed, with the key ids only', async () => {
    const events: unknown[] = [];
    h.core.bus.subscribe((event) => events.push(event));
    const one = await feature.apiKeys.create(viewer, { name: 'one', scopes: ['PROFILE'] }, META);
    const two = await feature.apiKeys.create(viewer, { name: 'two', scopes: ['SESSIONS'] }, META);
    expect(await feature.apiKeys.revokeAllOf({ id: 'admin-id', sessionId: null }, viewer.user.id, META)).toBe(2);
    expect(events).toEqual([{ type: 'api_keys_revoked', userId: viewer.user.id, keyIds: expect.arrayContaining([one.apiKey.id, two.apiKey.id]) }]);
    expect((events[0] as { keyIds: string[] }).keyIds).toHaveLength(2);
    expect(await feature.apiKeys.revokeAllOf({ id: 'cli', sessionId: null }, viewer.user.id, null)).toBe(0);
    expect(events).toHaveLength(1);
  });
});
