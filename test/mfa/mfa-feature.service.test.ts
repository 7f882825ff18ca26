import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMfaFeature, type MfaFeature } from '../../src/mfa/index.js';
import { generateTotpCode } from '../../src/mfa/totp.js';
import type { Viewer } from '../../src/sessions/index.js';
import { BACKEND } from '../helpers/backend.js';
import { startCore, type CoreHarness } from '../helpers/core.js';
import { META, PASSWORD } from '../helpers/services.js';

/*
 * The mfa feature composed with the core alone (no other feature, no
 * transport), as buildApp's second stage builds it: what it needs from the
 * rest of the house is the core's door, budgets and users.
 */
let h: CoreHarness;
let mfa: MfaFeature;
let viewer: Viewer;
beforeEach(async () => {
  h = await startCore();
  mfa = createMfaFeature(h.core);
  const user = await h.core.users.createUser({ username: 'alice', password: PASSWORD, roles: ['USER'] });
  const session = await h.core.sessions.open((tx) =>
    tx.startSession({ userId: user.id, userAgent: null, now: h.clock.now(), expiresAt: h.clock.now() + 86_400_000, refreshTokenHash: 'x'.repeat(43), amr: ['pwd'] }),
  );
  viewer = { user, sessionId: session.id, fresh: true, tokenExpiresAt: h.clock.now() + 900_000 };
});
afterEach(() => h.stop());

describe(`the mfa feature on the core alone (${BACKEND})`, () => {
  it('declares its SDL and migrations, and turns TOTP on with a code of the pending secret', async () => {
    expect(mfa.schema).toEqual(['totp.graphql']);
    expect(Object.keys(mfa.migrations!(BACKEND))).toEqual(['2026-12-01T00-03-totp']);
    const { secret } = await mfa.totp.enroll(viewer, META);
    expect(await mfa.totp.isEnabled(viewer.user.id)).toBe(false);
    const codes = await mfa.totp.confirm(viewer, generateTotpCode(secret, h.clock.now()), META);
    expect(codes).toHaveLength(10);
    expect(await mfa.totp.isEnabled(viewer.user.id)).toBe(true);
  });

  it("an admin's reset ends the user's sessions through the core's door, announced on its bus", async () => {
    const events: string[] = [];
    h.core.bus.subscribe((e) => events.push(e.type === 'sessions_ended' ? `${e.reason}:${e.sessionIds.join()}` : e.type));
    await mfa.totp.reset(viewer, viewer.user.id, META);
    expect(events).toEqual([`mfa_reset:${viewer.sessionId}`]);
    expect(await h.core.sessions.checkSession(viewer.sessionId, viewer.user.id)).toEqual({ active: false });
  });
});
