import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../helpers/logs.js';
import { AUTH_FIELDS, login, signup, startServer, type AuthPayload, type TestServer } from '../helpers/server.js';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';

/*
 * Audit events: one structured line per security-relevant event, with who
 * (user id, session id), from where (client address) and which request —
 * never a password, token or hash.
 */
describe('audit log', () => {
  const { logger, lines, entries } = capturingLogger();
  const clock = new ManualClock();
  let server: TestServer;
  const secrets: string[] = ['correct horse battery', 'wrong password!', 'admin password 1'];

  beforeAll(async () => {
    server = await startServer({ ADMIN_USERNAME: 'auditor', ADMIN_PASSWORD: 'admin password 1' }, { deps: { logger, clock } });
  });
  afterAll(() => server.stop());

  const events = (name: string) => entries().filter((e) => e.event === name);
  const withRequest = (id: string) => ({ headers: { 'x-request-id': id } });

  it('records logins, failures, lockouts, refresh reuse, logouts and role changes', async () => {
    const pair = await signup(server, 'audited');
    secrets.push(pair.accessToken, pair.refreshToken);
    const sid = (t: string) => decodeClaims(t).sid;

    await server.gql('mutation { login(username: "audited", password: "correct horse battery") { accessToken } }', {}, withRequest('req-login-ok'));
    const ok = events('auth.login').find((e) => e.requestId === 'req-login-ok');
    expect(ok).toMatchObject({ userId: pair.user.id, clientAddress: '127.0.0.1' });
    expect(typeof ok?.sessionId).toBe('string');

    for (let i = 0; i < 6; i++) await server.gql('mutation { login(username: "audited", password: "wrong password!") { accessToken } }', {}, withRequest(`req-fail-${i}`));
    expect(events('auth.login_failed').find((e) => e.requestId === 'req-fail-0')).toMatchObject({ userId: pair.user.id, clientAddress: '127.0.0.1' });
    expect(events('auth.login_locked')).toHaveLength(1);
    expect(events('auth.rate_limited').find((e) => e.requestId === 'req-fail-5')).toMatchObject({ operation: 'login', clientAddress: '127.0.0.1' });

    const rotated = (await server.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: pair.refreshToken })).body.data!.refreshToken;
    secrets.push(rotated.accessToken, rotated.refreshToken);
    clock.advance(60);
    await server.gql('mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', { t: pair.refreshToken }, withRequest('req-theft'));
    expect(events('auth.refresh_reuse').find((e) => e.requestId === 'req-theft')).toMatchObject({ userId: pair.user.id, sessionId: sid(pair.accessToken) });

    const other = await login(server, 'auditor', 'admin password 1');
    secrets.push(other.accessToken, other.refreshToken);
    await server.gql('mutation { logout }', {}, { token: other.accessToken, ...withRequest('req-logout') });
    expect(events('auth.logout').find((e) => e.requestId === 'req-logout')).toMatchObject({ userId: other.user.id, sessionId: sid(other.accessToken) });

    const admin = await login(server, 'auditor', 'admin password 1');
    secrets.push(admin.accessToken, admin.refreshToken);
    await server.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { id } }', { id: pair.user.id }, { token: admin.accessToken, ...withRequest('req-roles') });
    expect(events('user.roles_changed').find((e) => e.requestId === 'req-roles')).toMatchObject({
      userId: admin.user.id,
      sessionId: sid(admin.accessToken),
      targetUserId: pair.user.id,
      roles: ['USER', 'ADMIN'],
      clientAddress: '127.0.0.1',
    });
  });

  it('never logs a password, a token or a hash', () => {
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).not.toContain('$argon2');
  });
});
