import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { errorCode, signup, startServer, testEnv, type TestServer } from '../helpers/server.js';

/*
 * The admin CLI (dist/cli/admin.js, as `npm run user:list` runs it) against
 * the real database of a running server: SQLite, or PostgreSQL + Redis. Its
 * writes go through the door, so the running server sees them on the very
 * next request (Redis epochs; on SQLite the server notices another process
 * committed to the file).
 */
const ADMIN_CLI = fileURLToPath(new URL('../../dist/cli/admin.js', import.meta.url));

function cli(server: TestServer, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ADMIN_CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...testEnv(server.storage), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('the admin CLI', () => {
  let server: TestServer;
  beforeAll(async () => {
    if (!existsSync(ADMIN_CLI)) throw new Error('dist/cli/admin.js is missing: run `npm run build` (npm test does it for you)');
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('user:list prints every user, as a table or as JSON lines', async () => {
    await signup(server, 'listed-one');
    await signup(server, 'listed-two');
    const table = await cli(server, ['user:list']);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^USERNAME\s+ROLES/);
    expect(table.out).toMatch(/listed-one\s+USER\s/);
    expect(table.err).toMatch(/\d+ users/);
    const json = await cli(server, ['user:list', '--json']);
    expect(json.code).toBe(0);
    const users = json.out.trim().split('\n').map((line) => JSON.parse(line) as { username: string; roles: string[] });
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(['listed-one', 'listed-two']));
    expect(json.out).not.toMatch(/argon2|password/i);
  });

  it('sessions:revoke ends every session of the user, seen by the running server on the next request', async () => {
    const first = await signup(server, 'revokee');
    const second = await server.gql<{ login: { accessToken: string; refreshToken: string } }>(
      'mutation { login(username: "revokee", password: "correct horse battery") { accessToken refreshToken } }',
    );
    const other = await signup(server, 'bystander');
    // The server has checked (and cached) these sessions before the CLI runs.
    for (const token of [first.accessToken, second.body.data!.login.accessToken, other.accessToken]) {
      expect((await server.gql('{ me { username } }', {}, { token })).body.errors).toBeUndefined();
    }

    const revoked = await cli(server, ['sessions:revoke', 'REVOKEE']);
    expect(revoked.code, revoked.err).toBe(0);
    expect(revoked.out).toContain('Ended 2 sessions of revokee');

    for (const token of [first.accessToken, second.body.data!.login.accessToken]) {
      expect(errorCode(await server.gql('{ me { username } }', {}, { token }))).toBe('UNAUTHENTICATED');
    }
    const refresh = await server.gql('mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', { t: first.refreshToken });
    expect(errorCode(refresh)).toBe('INVALID_REFRESH_TOKEN');
    expect((await server.gql('{ me { username } }', {}, { token: other.accessToken })).body.data).toEqual({ me: { username: 'bystander' } });
  });

  it('user:roles changes roles through the door: existing tokens carry them from the next request; the last ADMIN stays', async () => {
    const user = await signup(server, 'promoted');
    const before = await server.gql('{ users(first: 1) { totalCount } }', {}, { token: user.accessToken });
    expect(errorCode(before)).toBe('FORBIDDEN');

    const promoted = await cli(server, ['user:roles', 'promoted', 'user,admin']);
    expect(promoted.code, promoted.err).toBe(0);
    expect(promoted.out).toContain('Roles of promoted are now USER, ADMIN');
    const after = await server.gql<{ me: { roles: string[] } }>('{ me { roles } }', {}, { token: user.accessToken });
    expect(after.body.data!.me.roles).toEqual(['USER', 'ADMIN']);
    expect((await server.gql('{ users(first: 1) { totalCount } }', {}, { token: user.accessToken })).body.errors).toBeUndefined();

    const last = await cli(server, ['user:roles', 'promoted', 'USER']);
    expect(last.code).toBe(65);
    expect(last.err).toContain('last ADMIN');
  });

  it('mfa:reset turns TOTP off and ends the sessions; the password alone signs in again; logins_total counts mfa_required', async () => {
    const pair = await signup(server, 'lost-phone');
    const enrolled = await server.gql<{ enrollTotp: { secret: string } }>('mutation { enrollTotp { secret } }', {}, { token: pair.accessToken });
    const { secret } = enrolled.body.data!.enrollTotp;
    const confirmed = await server.gql('mutation ($c: String!) { confirmTotp(code: $c) }', { c: generateTotpCode(secret, Date.now()) }, { token: pair.accessToken });
    expect(confirmed.body.errors).toBeUndefined();
    const LOGIN = 'mutation { login(username: "lost-phone", password: "correct horse battery") { accessToken } }';
    expect(errorCode(await server.gql(LOGIN))).toBe('MFA_REQUIRED');
    expect((await server.gql('{ me { username } }', {}, { token: pair.accessToken })).body.errors).toBeUndefined();

    const reset = await cli(server, ['mfa:reset', 'lost-phone']);
    expect(reset.code, reset.err).toBe(0);
    expect(reset.out).toContain('Two-factor authentication of lost-phone is off');
    expect(errorCode(await server.gql('{ me { username } }', {}, { token: pair.accessToken }))).toBe('UNAUTHENTICATED');
    const again = await server.gql<{ login: { accessToken: string } }>(LOGIN);
    expect(again.body.data?.login.accessToken).toBeTruthy();

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('tokengate_logins_total{outcome="mfa_required"} 1');
  });

  it('exits non-zero with one clear line on errors', async () => {
    const unknownUser = await cli(server, ['sessions:revoke', 'nobody-here']);
    expect(unknownUser.code).toBe(65);
    expect(unknownUser.err).toContain('No user is named nobody-here');
    const badRole = await cli(server, ['user:roles', 'promoted', 'ROOT']);
    expect(badRole.code).toBe(64);
    expect(badRole.err).toContain('Unknown role(s): ROOT');
    expect((await cli(server, ['user:nuke'])).code).toBe(64);
    expect((await cli(server, ['sessions:revoke'])).code).toBe(64);
    const badConfig = await cli(server, ['user:list'], { PRUNE_INTERVAL: 'soon' });
    expect(badConfig.code).toBe(78);
    expect(badConfig.err).toContain('PRUNE_INTERVAL');
  });

  it('refuses a write when the configured Redis does not answer, changing nothing', async () => {
    const down = await cli(server, ['sessions:revoke', 'bystander'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(69);
    expect(down.err).toContain('nothing was changed');
  });
});
