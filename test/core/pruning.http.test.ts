import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';

const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const DAY = 86_400;

/*
 * The background pruner on the real database, with the server's clock moved
 * by hand: what goes (ended and expired sessions past SESSION_RETENTION,
 * used refresh tokens past REFRESH_TOKEN_RETENTION) and what stays (open
 * sessions, live tokens, anything younger than its retention).
 */
describe('pruning', () => {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  let server: TestServer;
  const refresh = async (token: string): Promise<AuthPayload> => {
    const res = await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: token });
    if (!res.body.data?.refreshToken) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data.refreshToken;
  };
  const sessionIds = async (): Promise<Set<string>> => new Set((await server.app.db.selectFrom('sessions').select('id').execute()).map((r) => r.id));
  const tokenCount = async (sessionId: string): Promise<number> =>
    (await server.app.db.selectFrom('refresh_tokens').select('token_hash').where('session_id', '=', sessionId).execute()).length;
  const sid = (p: AuthPayload) => decodeClaims(p.accessToken).sid;

  beforeAll(async () => {
    server = await startServer(
      {
        REFRESH_TOKEN_TTL: '3d',
        REFRESH_REUSE_GRACE: '10s',
        SESSION_RETENTION: '2d',
        REFRESH_TOKEN_RETENTION: '1d',
        PRUNE_INTERVAL: '0s',
        PRUNE_BATCH_SIZE: '10',
        RATE_LIMIT_LOGIN_USERNAME: '1000/1h',
        RATE_LIMIT_LOGIN_ADDRESS: '1000/1h',
      },
      { deps: { clock } },
    );
  });
  afterAll(() => server.stop());

  it('removes only what is past its retention, batch after batch, and keeps open sessions and live tokens', async () => {
    // In the order of the features that register them (sessions, email, sign-in, passkeys, audit, social, api-keys).
    expect(server.app.pruner.taskNames).toEqual(['used_refresh_tokens', 'ended_sessions', 'expired_sessions', 'email_tokens', 'mail_outbox', 'mfa_tokens', 'passkey_challenges', 'audit_events', 'oauth_flows', 'api_keys']);
    const active = await signup(server, 'keeper');
    const loggedOut = await signup(server, 'leaver');
    const expiring = await signup(server, 'sleeper');
    const many = await signup(server, 'many');
    for (let i = 0; i < 24; i++) await login(server, 'many');
    const ended = await server.gql<{ logoutAll: number }>('mutation { logoutAll }', {}, { token: many.accessToken });
    expect(ended.body.data).toEqual({ logoutAll: 25 });

    // Day 0: keeper rotates once (its first token is now used).
    let keeper = await refresh(active.refreshToken);
    expect((await server.gql('mutation { logout }', {}, { token: loggedOut.accessToken })).body.data).toEqual({ logout: true });
    clock.advance(DAY / 2);
    expect(await server.app.pruner.runOnce()).toEqual({ used_refresh_tokens: 0, ended_sessions: 0, expired_sessions: 0, email_tokens: 0, mfa_tokens: 0, mail_outbox: 0, passkey_challenges: 0, audit_events: 0, oauth_flows: 0, api_keys: 0 });
    expect(await tokenCount(sid(active))).toBe(2);

    // Day 1.5: the token used on day 0 is past REFRESH_TOKEN_RETENTION; the one used now is not.
    clock.advance(DAY);
    keeper = await refresh(keeper.refreshToken);
    expect(await server.app.pruner.runOnce()).toEqual({ used_refresh_tokens: 1, ended_sessions: 0, expired_sessions: 0, email_tokens: 0, mfa_tokens: 0, mail_outbox: 0, passkey_challenges: 0, audit_events: 0, oauth_flows: 0, api_keys: 0 });
    expect(await tokenCount(sid(active))).toBe(2); // the one used today and the live one

    // Day 2.6: the 26 sessions ended on day 0 are past SESSION_RETENTION (2d), in 3 batches of 10.
    clock.advance(1.1 * DAY);
    keeper = await refresh(keeper.refreshToken);
    const before = await sessionIds();
    const removed = await server.app.pruner.runOnce();
    expect(removed).toEqual({ used_refresh_tokens: 1, ended_sessions: 26, expired_sessions: 0, email_tokens: 0, mfa_tokens: 0, mail_outbox: 0, passkey_challenges: 0, audit_events: 0, oauth_flows: 0, api_keys: 0 });
    const after = await sessionIds();
    expect(after).toEqual(new Set([sid(active), sid(expiring)]));
    expect(before.size - after.size).toBe(26);
    expect(await tokenCount(sid(loggedOut))).toBe(0);

    // Day 5.1: sleeper's session expired on day 3 and is past retention; keeper's, refreshed on day 2.6, is open until 5.6.
    clock.advance(2.5 * DAY);
    expect(await server.app.pruner.runOnce()).toEqual({ used_refresh_tokens: 1, ended_sessions: 0, expired_sessions: 1, email_tokens: 0, mfa_tokens: 0, mail_outbox: 0, passkey_challenges: 0, audit_events: 0, oauth_flows: 0, api_keys: 0 });
    expect(await sessionIds()).toEqual(new Set([sid(active)]));
    expect(await tokenCount(sid(active))).toBe(1); // the live one
    const stillIn = await server.gql<{ me: { username: string } }>('{ me { username } }', {}, { token: (await refresh(keeper.refreshToken)).accessToken });
    expect(stillIn.body.data).toEqual({ me: { username: 'keeper' } });
  });

  it('keeps a used token inside REFRESH_TOKEN_RETENTION, so its reuse is still caught as theft', async () => {
    const start = await signup(server, 'watched');
    const next = await refresh(start.refreshToken);
    clock.advance(DAY / 2); // outside the grace window, inside retention
    await server.app.pruner.runOnce();
    expect(errorCode(await server.gql(REFRESH, { t: start.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
    // Reuse ended the session: its live token no longer works either.
    expect(errorCode(await server.gql(REFRESH, { t: next.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
    const row = await server.app.db.selectFrom('sessions').select('end_reason').where('id', '=', sid(start)).executeTakeFirstOrThrow();
    expect(row.end_reason).toBe('refresh_reuse');
  });

  it('counts removed rows in tokengate_pruned_rows_total{task}', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('tokengate_pruned_rows_total{task="ended_sessions"} 26');
    expect(text).toContain('tokengate_pruned_rows_total{task="expired_sessions"} 1');
  });
});
