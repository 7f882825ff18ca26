import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims as decodeJwt } from '../helpers/jwt.js';
import { errorCode } from '../helpers/server.js';
import { COMPLETE, ME, socialSignIn, startSocialWorld, gqlInBrowser, runFlow, auditEvents, type SocialWorld } from './social-helpers.js';

describe('social sign-in: the full flow against two real OpenID providers', () => {
  let world: SocialWorld;
  beforeAll(async () => {
    world = await startSocialWorld();
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('lists the providers and reports each in readiness', async () => {
    const res = await world.server.gql<{ oauthProviders: Array<{ name: string; label: string }> }>('{ oauthProviders { name label } }');
    expect(res.body.data?.oauthProviders).toEqual([
      { name: 'alpha', label: 'Alpha ID' },
      { name: 'beta', label: 'beta' },
    ]);
    const ready = (await (await fetch(`${world.server.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks).toMatchObject({ database: 'ok', oidc_alpha: 'ok', oidc_beta: 'ok' });
  });

  it('signs a new user in with amr ["fed"] and a fresh token, creating an account without a password', async () => {
    world.alpha.accounts.set('ann-sub', { email: 'ann@example.com', email_verified: true, preferred_username: 'ann' });
    const payload = await socialSignIn(world, 'alpha', 'ann-sub');
    const claims = decodeJwt(payload.accessToken);
    expect(claims.amr).toEqual(['fed']);
    expect(claims.fresh).toBe(true);
    expect(payload.user).toMatchObject({ username: 'ann', email: 'ann@example.com', emailVerified: true });
    expect(payload.user.identities).toEqual([expect.objectContaining({ provider: 'alpha', subject: 'ann-sub', email: 'ann@example.com' })]);
    const me = await world.server.gql<{ me: { username: string } }>(ME, {}, { token: payload.accessToken });
    expect(me.body.data?.me.username).toBe('ann');
    // The refresh token works like any other.
    const refreshed = await world.server.gql<{ refreshToken: { accessToken: string } }>('mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken } }', { r: payload.refreshToken });
    expect(decodeJwt(refreshed.body.data!.refreshToken.accessToken).amr).toEqual(['fed']);
    const logins = await auditEvents(world.server, 'login.success');
    expect(logins.some((e) => e.user_id === payload.user.id && JSON.parse(e.details ?? '{}').method === 'oidc')).toBe(true);
  });

  it('signs the same identity in to the same account the next time', async () => {
    world.beta.accounts.set('bob-sub', { email: 'bob@example.com', email_verified: true, preferred_username: 'bob' });
    const first = await socialSignIn(world, 'beta', 'bob-sub');
    const second = await socialSignIn(world, 'beta', 'bob-sub');
    expect(second.user.id).toBe(first.user.id);
    // beta gives the address only from its userinfo endpoint.
    expect(first.user.email).toBe('bob@example.com');
  });

  it('answers OAUTH_FAILED (CODE) for a one-time code used twice', async () => {
    const result = await runFlow(world, 'alpha', 'ann-sub');
    const first = await gqlInBrowser(result.jar, world.server.url, COMPLETE, { c: result.code });
    expect(first.body.errors).toBeUndefined();
    const again = await gqlInBrowser(result.jar, world.server.url, COMPLETE, { c: result.code });
    expect(errorCode(again)).toBe('OAUTH_FAILED');
    expect(again.body.errors?.[0]?.extensions?.reason).toBe('CODE');
  });
});
