import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, type TestServer } from '../helpers/server.js';
import { CookieJar } from '../helpers/oidc-provider.js';
import { COMPLETE, ME, UNLINK, auditEvents, gqlInBrowser, linkTokenFor, runFlow, socialSignIn, startSocialWorld, type SocialWorld } from './social-helpers.js';

const PASSWORD = 'correct horse battery';

/** The linking rules of docs/api.md, "Social sign-in", one test (or more) each. */
describe('social sign-in: linking rules', () => {
  let world: SocialWorld;
  let server: TestServer;
  beforeAll(async () => {
    world = await startSocialWorld();
    server = world.server;
  });
  afterAll(async () => {
    await world?.stop();
  });

  async function signup(username: string, email?: string): Promise<{ id: string; accessToken: string }> {
    const res = await server.gql<{ signup: { accessToken: string; user: { id: string } } }>(
      'mutation ($u: String!, $p: String!, $e: String) { signup(username: $u, password: $p, email: $e) { accessToken user { id } } }',
      { u: username, p: PASSWORD, e: email ?? null },
    );
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return { id: res.body.data.signup.user.id, accessToken: res.body.data.signup.accessToken };
  }
  async function verify(address: string): Promise<void> {
    const res = await server.gql('mutation ($t: String!) { verifyEmail(token: $t) }', { t: await linkTokenFor(server, address) });
    expect(res.body.errors).toBeUndefined();
  }
  async function me(token: string) {
    const res = await server.gql<{ me: { id: string; username: string; email: string | null; emailVerified: boolean; identities: Array<{ provider: string; subject: string }> } }>(ME, {}, { token });
    return res.body.data!.me;
  }
  async function passwordLogin(username: string, password = PASSWORD) {
    return server.gql<{ login: { accessToken: string } }>('mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }', { u: username, p: password });
  }

  it('rule 1: identities are keyed by (issuer, sub), never by address: an unverified provider address joins no account', async () => {
    const erin = await signup('erin', 'erin@example.com');
    await verify('erin@example.com');
    world.beta.accounts.set('someone-else', { email: 'erin@example.com', email_verified: false, preferred_username: 'erin' });
    const payload = await socialSignIn(world, 'beta', 'someone-else');
    expect(payload.user.id).not.toBe(erin.id);
    expect(payload.user.username).toBe('erin-2');
    // The address stays erin's: the new account gets none.
    expect(payload.user.email).toBeNull();
    expect(await me(erin.accessToken)).toMatchObject({ email: 'erin@example.com', emailVerified: true, identities: [] });
    // The same address at the other provider with another subject is another identity, another decision.
    world.alpha.accounts.set('someone-else', { email: 'erin@example.com', email_verified: false });
    const other = await socialSignIn(world, 'alpha', 'someone-else');
    expect(other.user.id).not.toBe(payload.user.id);
  });

  it('rule 2: a new identity joins an existing account only when the provider and the account both verified the address', async () => {
    const fay = await signup('fay', 'fay@example.com');
    await verify('fay@example.com');
    world.alpha.accounts.set('fay-at-alpha', { email: 'Fay@Example.com', email_verified: true });
    const payload = await socialSignIn(world, 'alpha', 'fay-at-alpha');
    expect(payload.user.id).toBe(fay.id);
    expect(payload.user.identities).toEqual([expect.objectContaining({ provider: 'alpha', subject: 'fay-at-alpha' })]);
    const linked = await auditEvents(server, 'identity.linked');
    expect(linked.some((e) => e.user_id === fay.id && JSON.parse(e.details ?? '{}').how === 'verified_email')).toBe(true);
    // From now on the identity decides, whatever the address says.
    world.alpha.accounts.set('fay-at-alpha', { email: 'fay-new@example.com', email_verified: true });
    expect((await socialSignIn(world, 'alpha', 'fay-at-alpha')).user.id).toBe(fay.id);
  });

  it('rule 3: an unverified address reserves nothing; the pre-account takeover fails for the attacker', async () => {
    // The attacker signs up first with the victim's address, which they cannot verify.
    const mallory = await signup('mallory', 'victim@example.com');
    const pendingLink = await linkTokenFor(server, 'victim@example.com');
    // The victim signs in with a provider that verified the address.
    world.alpha.accounts.set('victim-sub', { email: 'victim@example.com', email_verified: true, preferred_username: 'victim' });
    const victim = await socialSignIn(world, 'alpha', 'victim-sub');
    expect(victim.user.id).not.toBe(mallory.id);
    expect(victim.user).toMatchObject({ username: 'victim', email: 'victim@example.com', emailVerified: true });
    // The attacker's account lost the address, and says so in the audit trail.
    expect(await me(mallory.accessToken)).toMatchObject({ email: null, emailVerified: false, identities: [] });
    const takenOver = await auditEvents(server, 'email.taken_over');
    expect(takenOver.map((e) => e.user_id)).toContain(mallory.id);
    // The verification link the attacker's signup mailed proves nothing any more.
    expect(errorCode(await server.gql('mutation ($t: String!) { verifyEmail(token: $t) }', { t: pendingLink }))).toBe('INVALID_EMAIL_TOKEN');
    // The victim's next sign-in lands in the victim's account again, never the attacker's.
    expect((await socialSignIn(world, 'alpha', 'victim-sub')).user.id).toBe(victim.user.id);
    // And the attacker's password opens only the attacker's own (now address-less) account.
    const attacker = await passwordLogin('mallory');
    expect((await me(attacker.body.data!.login.accessToken)).id).toBe(mallory.id);
  });

  it('rule 3b: an unverified address at both ends takes nothing: a new account without the address', async () => {
    const holder = await signup('holder', 'shared@example.com');
    world.beta.accounts.set('shared-sub', { email: 'shared@example.com', email_verified: false });
    const payload = await socialSignIn(world, 'beta', 'shared-sub');
    expect(payload.user.id).not.toBe(holder.id);
    expect(payload.user.email).toBeNull();
    expect((await me(holder.accessToken)).email).toBe('shared@example.com');
  });

  it('rule 4: link: true attaches the identity to the signed-in user (fresh token), and only for that user', async () => {
    const gus = await signup('gus', 'gus@example.com');
    world.beta.accounts.set('gus-elsewhere', { email: 'g.u.s@elsewhere.example', email_verified: true });
    const linked = await socialSignIn(world, 'beta', 'gus-elsewhere', { token: gus.accessToken, link: true });
    expect(linked.user.id).toBe(gus.id);
    expect((await me(gus.accessToken)).identities).toEqual([expect.objectContaining({ provider: 'beta', subject: 'gus-elsewhere' })]);
    const events = await auditEvents(server, 'identity.linked');
    expect(events.some((e) => e.user_id === gus.id && JSON.parse(e.details ?? '{}').how === 'explicit')).toBe(true);
    // A plain sign-in with it now opens gus's account.
    expect((await socialSignIn(world, 'beta', 'gus-elsewhere')).user.id).toBe(gus.id);
    // A link flow's code redeemed without gus's token links nothing and signs nobody in.
    world.alpha.accounts.set('gus-alpha', { email: 'gus-alpha@example.com', email_verified: true });
    const flow = await runFlow(world, 'alpha', 'gus-alpha', { token: gus.accessToken, link: true });
    const stolen = await gqlInBrowser(new CookieJar(), server.url, COMPLETE, { c: flow.code });
    expect(stolen.body.errors?.[0]?.extensions).toMatchObject({ code: 'OAUTH_FAILED', reason: 'CODE' });
    expect((await me(gus.accessToken)).identities).toHaveLength(1);
  });

  it('rule 5: an identity linked to another user cannot be linked (IDENTITY_TAKEN)', async () => {
    world.alpha.accounts.set('hal-sub', { preferred_username: 'hal' });
    const hal = await socialSignIn(world, 'alpha', 'hal-sub');
    const ida = await signup('ida');
    const flow = await runFlow(world, 'alpha', 'hal-sub', { token: ida.accessToken, link: true });
    const res = await gqlInBrowser(flow.jar, server.url, COMPLETE, { c: flow.code }, ida.accessToken);
    expect(errorCode(res)).toBe('IDENTITY_TAKEN');
    expect((await me(ida.accessToken)).identities).toEqual([]);
    expect((await me(hal.accessToken)).identities).toHaveLength(1);
  });

  it('rule 6: a social-only user has no password (login: INVALID_CREDENTIALS), and a password reset can set one', async () => {
    // 'jo' is too short for a username, at both ends: the fallback 'user' it is.
    world.alpha.accounts.set('jo-sub', { email: 'jo@example.com', email_verified: true, preferred_username: 'jo' });
    const jo = await socialSignIn(world, 'alpha', 'jo-sub');
    expect(jo.user.username).toBe('user');
    for (const password of [PASSWORD, '', 'x'.repeat(8)]) expect(errorCode(await passwordLogin(jo.user.username, password))).toBe('INVALID_CREDENTIALS');
    expect(await server.gql('mutation ($e: String!) { requestPasswordReset(email: $e) }', { e: 'jo@example.com' })).toMatchObject({ body: { data: { requestPasswordReset: true } } });
    const reset = await server.gql('mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }', { t: await linkTokenFor(server, 'jo@example.com'), p: 'a brand new passphrase' });
    expect(reset.body.errors).toBeUndefined();
    const login = await passwordLogin(jo.user.username, 'a brand new passphrase');
    expect(login.body.errors).toBeUndefined();
    expect((await me(login.body.data!.login.accessToken)).id).toBe(jo.user.id);
  });

  it('rule 7: unlinking the last way to sign in is refused (LAST_CREDENTIAL); with a password left it works', async () => {
    world.beta.accounts.set('kim-sub', { email: 'kim@example.com', email_verified: true, preferred_username: 'kim' });
    const kim = await socialSignIn(world, 'beta', 'kim-sub');
    const refused = await server.gql(UNLINK, { p: 'beta' }, { token: kim.accessToken });
    expect(errorCode(refused)).toBe('LAST_CREDENTIAL');
    expect((await me(kim.accessToken)).identities).toHaveLength(1);
    // Unknown to this user: false, nothing happens.
    expect((await server.gql(UNLINK, { p: 'alpha' }, { token: kim.accessToken })).body.data).toEqual({ unlinkIdentity: false });
    // With a second identity the first may go.
    world.alpha.accounts.set('kim-alpha', { email: 'kim@example.com', email_verified: true });
    const again = await socialSignIn(world, 'alpha', 'kim-alpha');
    expect(again.user.id).toBe(kim.user.id);
    expect((await server.gql(UNLINK, { p: 'beta' }, { token: again.accessToken })).body.data).toEqual({ unlinkIdentity: true });
    expect(errorCode(await server.gql(UNLINK, { p: 'alpha' }, { token: again.accessToken }))).toBe('LAST_CREDENTIAL');
    const unlinked = await auditEvents(server, 'identity.unlinked');
    expect(unlinked.map((e) => e.user_id)).toContain(kim.user.id);
    // unlinkIdentity needs a fresh token.
    const refreshed = await server.gql<{ refreshToken: { accessToken: string } }>('mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', { r: again.refreshToken });
    expect(errorCode(await server.gql(UNLINK, { p: 'alpha' }, { token: refreshed.body.data!.refreshToken.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
  });

  it('rule 8: usernames are made unique from preferred_username, else the address, else "user"', async () => {
    world.alpha.accounts.set('liv-1', { preferred_username: 'liv' });
    world.beta.accounts.set('liv-2', { preferred_username: 'LIV' });
    world.alpha.accounts.set('mo', { email: 'mo.lee@example.com', email_verified: false });
    world.alpha.accounts.set('nils', { preferred_username: 'Jürgen Weiß' });
    world.alpha.accounts.set('nobody', {});
    world.beta.accounts.set('nobody', {});
    expect((await socialSignIn(world, 'alpha', 'liv-1')).user.username).toBe('liv');
    expect((await socialSignIn(world, 'beta', 'liv-2')).user.username).toBe('LIV-2');
    expect((await socialSignIn(world, 'alpha', 'mo')).user.username).toBe('mo.lee');
    expect((await socialSignIn(world, 'alpha', 'nils')).user.username).toBe('JurgenWei');
    const first = (await socialSignIn(world, 'alpha', 'nobody')).user.username;
    const second = (await socialSignIn(world, 'beta', 'nobody')).user.username;
    expect(first).toMatch(/^user(-\d+)?$/);
    expect(second).toMatch(/^user-\d+$/);
    expect(second).not.toBe(first);
  });

  it('rule 9: a user with TOTP on gets MFA_REQUIRED after a social sign-in, as after a password', async () => {
    world.alpha.accounts.set('otto-sub', { preferred_username: 'otto' });
    const otto = await socialSignIn(world, 'alpha', 'otto-sub');
    const enrolled = await server.gql<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }', {}, { token: otto.accessToken });
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.body.data!.enrollTotp.secret) });
    expect((await server.gql('mutation ($c: String!) { confirmTotp(code: $c) }', { c: totp.generate() }, { token: otto.accessToken })).body.errors).toBeUndefined();
    const flow = await runFlow(world, 'alpha', 'otto-sub');
    const res = await gqlInBrowser(flow.jar, server.url, COMPLETE, { c: flow.code });
    expect(errorCode(res)).toBe('MFA_REQUIRED');
    const mfaToken = res.body.errors?.[0]?.extensions?.mfaToken as string;
    const verified = await server.gql<{ verifyMfa: { accessToken: string } }>('mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { accessToken } }', {
      t: mfaToken,
      c: totp.generate({ timestamp: Date.now() + 30_000 }),
    });
    const claims = JSON.parse(Buffer.from(verified.body.data!.verifyMfa.accessToken.split('.')[1]!, 'base64url').toString()) as { amr: string[]; sub: string };
    expect(claims).toMatchObject({ sub: otto.user.id, amr: ['fed', 'otp'] });
  });
});
