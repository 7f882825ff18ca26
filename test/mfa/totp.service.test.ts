import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { generateTotpCode, totpStep } from '../../src/mfa/totp.js';
import { claimTotpStep, findTotpState } from '../../src/mfa/totp.repository.js';
import type { Viewer } from '../../src/sessions/viewer.js';
import { BACKEND } from '../helpers/backend.js';
import { decodeClaims } from '../helpers/jwt.js';
import { META, PASSWORD, startServices, type ServiceHarness } from '../helpers/services.js';

/*
 * The TOTP rules that live in the database, driven step by step: the replay
 * store (last used step, compare-and-set), and the transaction that turns a
 * right code into a session. Each test names the mutation of the code it catches.
 */

let h: ServiceHarness;
let viewer: Viewer;
let secret: string;

/** The mfaToken of a login that answered MFA_REQUIRED. */
async function firstStep(harness: ServiceHarness = h): Promise<string> {
  const error = await harness.services.signIn.login('alice', PASSWORD, META).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError) || error.code !== 'MFA_REQUIRED') throw new Error(`expected MFA_REQUIRED, got ${String(error)}`);
  return String(error.extras.mfaToken);
}

async function codeOf(error: Promise<unknown>): Promise<string | null> {
  return error.then(
    () => null,
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  );
}

beforeEach(async () => {
  h = await startServices();
  const pair = await h.services.signIn.signup('alice', PASSWORD, META);
  viewer = { user: pair.user, sessionId: decodeClaims(pair.accessToken).sid, fresh: true, tokenExpiresAt: decodeClaims(pair.accessToken).exp * 1000 };
  ({ secret } = await h.services.totp.enroll(viewer, META));
  await h.services.totp.confirm(viewer, generateTotpCode(secret, h.clock.now()), META);
  h.clock.advance(30);
});
afterEach(async () => {
  await h.stop();
});

describe(`the replay store (${BACKEND})`, () => {
  // Catches: a claim that overwrites the last step without comparing it.
  it('records a step only if it is later than the last one', async () => {
    const userId = viewer.user.id;
    const confirmed = (await findTotpState(h.core.db, userId)).lastStep!;
    expect(confirmed).toBe(totpStep(h.clock.now()) - 1);
    expect(await claimTotpStep(h.core.db, userId, confirmed, h.clock.now())).toBe(false);
    expect(await claimTotpStep(h.core.db, userId, confirmed - 1, h.clock.now())).toBe(false);
    expect(await claimTotpStep(h.core.db, userId, confirmed + 1, h.clock.now())).toBe(true);
    expect(await claimTotpStep(h.core.db, userId, confirmed + 1, h.clock.now())).toBe(false);
    expect(await claimTotpStep(h.core.db, userId, confirmed + 5, h.clock.now())).toBe(true);
    expect((await findTotpState(h.core.db, userId)).lastStep).toBe(confirmed + 5);
  });

  // Catches: claiming a step for a user whose TOTP was turned off meanwhile.
  it('claims nothing once TOTP is off', async () => {
    await h.services.totp.disable(viewer, generateTotpCode(secret, h.clock.now()), META);
    expect(await claimTotpStep(h.core.db, viewer.user.id, totpStep(h.clock.now()) + 10, h.clock.now())).toBe(false);
  });

  if (BACKEND === 'postgres') {
    // Catches: trusting the last step read before the check instead of the compare-and-set.
    it('two instances that both read the old last step accept the code once', async () => {
      const other = await startServices({}, { storage: h.storage, clock: h.clock });
      try {
        const code = generateTotpCode(secret, h.clock.now());
        const [tokenA, tokenB] = [await firstStep(h), await firstStep(other)];
        // A stops right after reading alice's TOTP secret and last step inside its transaction.
        const paused = h.gate.pauseAfter('A', 'select:credentials');
        const a = h.gate.as('A', () => h.services.signIn.verifyMfa(tokenA, code, META));
        await paused.reached;
        // B verifies the same code and commits while A holds its stale read.
        const b = await other.services.signIn.verifyMfa(tokenB, code, META);
        expect(decodeClaims(b.accessToken).amr).toEqual(['pwd', 'otp']);
        paused.release();
        expect(await codeOf(a)).toBe('INVALID_MFA_CODE');
      } finally {
        await other.stop();
      }
    });
  }
});

describe(`verifyMfa is one transaction (${BACKEND})`, () => {
  // Catches: spending the code and the mfaToken in one transaction and opening the session in another.
  it('a fault while opening the session spends neither the code nor the mfaToken; a retry succeeds', async () => {
    const token = await firstStep();
    const code = generateTotpCode(secret, h.clock.now());
    h.gate.failOn('insert:sessions');
    expect(await codeOf(h.services.signIn.verifyMfa(token, code, META))).toMatch(/injected fault/);
    const tokens = await h.core.db.selectFrom('mfa_tokens').select(['failures', 'used_at']).execute();
    expect(tokens).toEqual([{ failures: 0, used_at: null }]);
    const pair = await h.services.signIn.verifyMfa(token, code, META);
    expect(decodeClaims(pair.accessToken).fresh).toBe(true);
    const sessions = await h.core.db.selectFrom('sessions').select(['id', 'amr']).where('id', '=', decodeClaims(pair.accessToken).sid).execute();
    expect(sessions.map((s) => JSON.parse(s.amr!) as unknown)).toEqual([['pwd', 'otp']]);
  });

  // Catches: recovery codes replaced outside the transaction that turns TOTP on.
  it('a fault while storing recovery codes leaves TOTP as it was (rotation not half-done)', async () => {
    const { secret: next } = await h.services.totp.enroll(viewer, META);
    h.gate.failOn('insert:recovery_codes');
    expect(await codeOf(h.services.totp.confirm(viewer, generateTotpCode(next, h.clock.now()), META))).toMatch(/injected fault/);
    // The old secret still signs in; the new one is still pending.
    const state = (await findTotpState(h.core.db, viewer.user.id))!;
    expect(state.pendingSecret).not.toBeNull();
    const pair = await h.services.signIn.verifyMfa(await firstStep(), generateTotpCode(secret, h.clock.now()), META);
    expect(decodeClaims(pair.accessToken).amr).toEqual(['pwd', 'otp']);
  });

  // Catches: rotation that keeps the old secret working after confirmTotp.
  it('confirming a new enrollment while TOTP is on replaces the secret and the recovery codes', async () => {
    const oldCodes = await h.core.db.selectFrom('recovery_codes').select('code_hash').execute();
    const { secret: next } = await h.services.totp.enroll(viewer, META);
    const codes = await h.services.totp.confirm(viewer, generateTotpCode(next, h.clock.now()), META);
    expect(codes).toHaveLength(10);
    const newCodes = await h.core.db.selectFrom('recovery_codes').select('code_hash').execute();
    expect(newCodes.some((c) => oldCodes.some((o) => o.code_hash === c.code_hash))).toBe(false);
    h.clock.advance(30);
    expect(await codeOf(h.services.signIn.verifyMfa(await firstStep(), generateTotpCode(secret, h.clock.now()), META))).toBe('INVALID_MFA_CODE');
    const pair = await h.services.signIn.verifyMfa(await firstStep(), generateTotpCode(next, h.clock.now()), META);
    expect(decodeClaims(pair.accessToken).amr).toEqual(['pwd', 'otp']);
  });
});
