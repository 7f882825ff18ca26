import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeFeatures } from '../../src/app.js';
import { deleteCredentials } from '../../src/credentials/credential.repository.js';
import type { PasskeyService } from '../../src/passkeys/index.js';
import type { Viewer } from '../../src/sessions/index.js';
import { BACKEND } from '../helpers/backend.js';
import { startCore, type CoreHarness } from '../helpers/core.js';
import { QueryGate } from '../helpers/query-gate.js';
import { META, PASSWORD } from '../helpers/services.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../helpers/soft-authenticator.js';

/*
 * The passkeys feature composed on the core, as buildApp's second stage
 * builds it, for what HTTP cannot reach directly: two instances sharing one
 * database (a ceremony started on one finishes on the other), the last way
 * in, and the pruning of expired challenges.
 */

const ORIGIN = 'https://app.example.test';
const ENV = { WEBAUTHN_RP_ID: 'example.test', WEBAUTHN_ORIGINS: ORIGIN };

let a: CoreHarness;
let passkeys: PasskeyService;
let viewer: Viewer;
const gate = new QueryGate();
beforeEach(async () => {
  a = await startCore(ENV, { wrapDb: (db) => db.withPlugin(gate) });
  passkeys = composeFeatures(a.core).services.passkeys;
  const user = await a.core.users.createUser({ username: 'alice', password: PASSWORD, roles: ['USER'] });
  const session = await a.core.sessions.open((tx) =>
    tx.startSession({ userId: user.id, userAgent: null, now: a.clock.now(), expiresAt: a.clock.now() + 86_400_000, refreshTokenHash: 'x'.repeat(43), amr: ['pwd'] }),
  );
  viewer = { user, sessionId: session.id, fresh: true, tokenExpiresAt: a.clock.now() + 900_000 };
});
afterEach(() => a.stop());

async function register(service: PasskeyService, authenticator: SoftAuthenticator) {
  const options = (await service.startRegistration(viewer, META)) as unknown as CreationOptions;
  return service.finishRegistration(viewer, authenticator.register(options) as unknown as Record<string, unknown>, null, META);
}

describe(`passkeys on the core (${BACKEND})`, () => {
  it('a ceremony started on one instance finishes on another: the challenge is in the shared database', async () => {
    const b = await startCore(ENV, { storage: a.storage, clock: a.clock });
    try {
      const other = composeFeatures(b.core).services.passkeys;
      const authenticator = new SoftAuthenticator({ origin: ORIGIN });
      // Registration: started on A, finished on B.
      const options = (await passkeys.startRegistration(viewer, META)) as unknown as CreationOptions;
      const passkey = await other.finishRegistration(viewer, authenticator.register(options) as unknown as Record<string, unknown>, 'Phone', META);
      expect(passkey.name).toBe('Phone');
      // Sign-in: started on B, finished on A; then the challenge is gone for both.
      const request = (await other.startLogin(null, META)) as unknown as RequestOptions;
      const response = authenticator.authenticate(request) as unknown as Record<string, unknown>;
      const auth = await passkeys.finishLogin(response, META);
      expect(auth.user.id).toBe(viewer.user.id);
      await expect(other.finishLogin(response, META)).rejects.toMatchObject({ code: 'INVALID_PASSKEY' });
    } finally {
      await b.stop();
    }
  });

  it('many visitors at once: each finishes with its own challenge, whatever the order', async () => {
    const authenticators = [new SoftAuthenticator({ origin: ORIGIN }), new SoftAuthenticator({ origin: ORIGIN, alg: -257 }), new SoftAuthenticator({ origin: ORIGIN })];
    for (const authenticator of authenticators) await register(passkeys, authenticator);
    const started = await Promise.all(authenticators.map(() => passkeys.startLogin(null, META)));
    const responses = authenticators.map((auth, i) => auth.authenticate(started[i] as unknown as RequestOptions) as unknown as Record<string, unknown>);
    const results = await Promise.all([...responses].reverse().map((r) => passkeys.finishLogin(r, META)));
    expect(results.map((r) => r.user.id)).toEqual([viewer.user.id, viewer.user.id, viewer.user.id]);
  });

  it('deletePasskey of the last way in is LAST_CREDENTIAL [catches: no countWaysIn check]', async () => {
    const only = await register(passkeys, new SoftAuthenticator({ origin: ORIGIN }));
    // A user without a password (as social sign-in makes them): the password row goes.
    await deleteCredentials(a.core.db, viewer.user.id, ['password']);
    await expect(passkeys.remove(viewer, only.id, META)).rejects.toMatchObject({ code: 'LAST_CREDENTIAL' });
    expect((await passkeys.list(viewer.user.id)).map((p) => p.id)).toEqual([only.id]);
  });

  it('two removals of the last two ways in, interleaved, cannot both pass [catches: the count without the user row lock, on PostgreSQL]', async () => {
    const first = await register(passkeys, new SoftAuthenticator({ origin: ORIGIN }));
    const second = await register(passkeys, new SoftAuthenticator({ origin: ORIGIN }));
    await deleteCredentials(a.core.db, viewer.user.id, ['password']);
    let outcomes: PromiseSettledResult<boolean>[];
    if (BACKEND === 'postgres') {
      // A stops after its count (its delete not yet committed); B runs meanwhile. With the lock B
      // waits at its first statement until A commits, then counts 0; without it, both would commit.
      const paused = gate.pauseAfter('A', 'select:credentials');
      const removeA = gate.as('A', () => passkeys.remove(viewer, first.id, META));
      await paused.reached;
      let bDone = false;
      const removeB = gate.as('B', () => passkeys.remove(viewer, second.id, META)).finally(() => (bDone = true));
      // Until B is blocked on the lock (its first statement sent) or, without the lock, done.
      while (!bDone && !gate.log.some((q) => q.actor === 'B' && q.label === 'update:users')) await new Promise((r) => setImmediate(r));
      paused.release();
      outcomes = await Promise.allSettled([removeA, removeB]);
    } else {
      // SQLite runs one write transaction at a time: the removals serialize on their own.
      outcomes = await Promise.allSettled([passkeys.remove(viewer, first.id, META), passkeys.remove(viewer, second.id, META)]);
    }
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value)).toEqual([true]);
    expect(outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => (o.reason as { code?: string }).code)).toEqual(['LAST_CREDENTIAL']);
    expect(await passkeys.list(viewer.user.id)).toHaveLength(1);
  });

  it('expired challenges are pruned; live ones stay [catches: the prune task deleting live rows, or none]', async () => {
    await passkeys.startLogin(null, META);
    await passkeys.startRegistration(viewer, META);
    a.clock.advance(301);
    const live = (await passkeys.startLogin(null, META)) as unknown as RequestOptions;
    expect(await passkeys.pruneChallenges(a.clock.now(), 100)).toBe(2);
    expect(await passkeys.pruneChallenges(a.clock.now(), 100)).toBe(0);
    const rows = await a.core.db.selectFrom('passkey_challenges').select('purpose').execute();
    expect(rows).toEqual([{ purpose: 'login' }]);
    expect(live.challenge).toBeTruthy();
  });
});
