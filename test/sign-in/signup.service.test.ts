import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

let h: ServiceHarness;
beforeEach(async () => {
  h = await startServices();
});
afterEach(async () => {
  await h.stop();
});

describe(`signup is atomic (${BACKEND})`, () => {
  // Catches: creating the user and its first session in two transactions.
  it('a fault between creating the user and its first session leaves neither, and a retry succeeds', async () => {
    h.gate.failOn('insert:sessions');
    await expect(h.services.signIn.signup('alice', PASSWORD, META)).rejects.toThrow('injected fault on insert:sessions');
    const users = await h.core.db.selectFrom('users').select('username').where('username_key', '=', 'alice').execute();
    expect(users).toEqual([]);

    // The client retries: the name is still free.
    const pair = await h.services.signIn.signup('alice', PASSWORD, META);
    expect(pair.user.username).toBe('alice');
    const sessions = await h.core.db.selectFrom('sessions').select('id').where('user_id', '=', pair.user.id).execute();
    expect(sessions.map((s) => s.id)).toEqual([decodeClaims(pair.accessToken).sid]);
  });

  it('a fault on the first refresh token also rolls the user back', async () => {
    h.gate.failOn('insert:refresh_tokens');
    await expect(h.services.signIn.signup('bob', PASSWORD, META)).rejects.toThrow();
    expect(await h.core.db.selectFrom('users').select('id').execute()).toEqual([]);
    expect(await h.core.db.selectFrom('sessions').select('id').execute()).toEqual([]);
  });
});
