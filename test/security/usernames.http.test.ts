import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, login, signup, startServer, type TestServer } from '../helpers/server.js';
import { GENEROUS_LIMITS, LOGIN, SIGNUP, firstExtensions } from './security-helpers.js';

/*
 * Hostile usernames: SQL metacharacters and LIKE wildcards (must reach the
 * database, if at all, only as bound values compared with `=`), and Unicode
 * look-alikes of an existing name (must never be created beside it, nor log
 * in as it). The contract (docs/api.md) allows only ASCII
 * `[A-Za-z0-9._-]{3,64}`, compared case-insensitively and shown as first written.
 */

const ADMIN_PASSWORD = 'admin-password-for-security-tests';
const PASSWORD = 'correct horse battery';

/** Classic SQL injection strings; none is a valid username. */
const SQL_METACHARACTERS = [
  "' OR '1'='1",
  "admin'--",
  "admin' OR 'a'='a",
  'admin"--',
  '"; DROP TABLE users; --',
  "'; DELETE FROM sessions; --",
  'admin%',
  '%',
  '_',
  '\\',
  'admin\\',
  'admin;',
];

/** Unicode spellings that render like, or fold to, an existing ASCII name. */
const LOOK_ALIKES: ReadonlyArray<readonly [string, string, string]> = [
  // [what it is, the spelling, the existing user it imitates]
  ['Cyrillic А (U+0410)', '\u0410dmin', 'admin'],
  ['Cyrillic а and о', '\u0430dmin', 'admin'],
  ['fullwidth letters (NFKC folds them to "admin")', 'ａｄｍｉｎ', 'admin'],
  ['a zero-width space at the end', 'admin\u200b', 'admin'],
  ['a zero-width space inside', 'adm\u200bin', 'admin'],
  ['dotless ı (U+0131; upper-cases to "ADMIN")', 'adm\u0131n', 'admin'],
  ['dotted İ (U+0130)', 'ADM\u0130N', 'admin'],
  ['a combining accent', 'admi\u0301n', 'admin'],
  ['a right-to-left override', '\u202enimda', 'admin'],
  ['Kelvin sign K (U+212A; lower-cases to "k")', '\u212Aelvin', 'kelvin'],
];

describe('hostile usernames', () => {
  let server: TestServer;
  let adminId: string;
  /** Every username this file created, to check the users table at the end. */
  const created = new Set<string>(['admin']);

  beforeAll(async () => {
    server = await startServer({ ...GENEROUS_LIMITS, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD });
    adminId = (await login(server, 'admin', ADMIN_PASSWORD)).user.id;
    await signup(server, 'kelvin', PASSWORD);
    created.add('kelvin');
  });
  afterAll(() => server.stop());

  /** Asserts a signup is refused as BAD_USER_INPUT on the username. */
  async function expectSignupRefused(username: string): Promise<void> {
    const res = await server.gql(SIGNUP, { u: username, p: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.data, JSON.stringify(username)).toBeNull();
    expect(firstExtensions(res), JSON.stringify(username)).toEqual({ code: 'BAD_USER_INPUT', field: 'username' });
  }

  /** Asserts a login is refused as INVALID_CREDENTIALS, like any wrong username. */
  async function expectLoginRefused(username: string, password: string): Promise<void> {
    const res = await server.gql(LOGIN, { u: username, p: password });
    expect(res.status).toBe(200);
    expect(res.body.data, JSON.stringify(username)).toBeNull();
    expect(errorCode(res), JSON.stringify(username)).toBe('INVALID_CREDENTIALS');
  }

  it('SQL metacharacters in a username are refused at signup as BAD_USER_INPUT (field username)', async () => {
    for (const username of SQL_METACHARACTERS) await expectSignupRefused(username);
  });

  it("SQL metacharacters at login are INVALID_CREDENTIALS, even with admin's password", async () => {
    // `admin'--` would comment out a password check in concatenated SQL; `' OR '1'='1` would match every row.
    for (const username of SQL_METACHARACTERS) await expectLoginRefused(username, ADMIN_PASSWORD);
    // The same strings as the password of a real user.
    for (const password of ["' OR '1'='1", "x' OR 'x'='x", "'--", '"; DROP TABLE users; --']) {
      await expectLoginRefused('admin', password);
    }
  });

  it('LIKE wildcards in valid usernames match only themselves', async () => {
    // Under `username LIKE ?`, "_____" and "adm_n" would both match "admin".
    for (const username of ['_____', 'adm_n', 'a___n', 'ADM_N']) await expectLoginRefused(username, ADMIN_PASSWORD);
    const underscores = await signup(server, '_____', PASSWORD);
    created.add('_____');
    const wildcard = await signup(server, 'adm_n', PASSWORD);
    created.add('adm_n');
    expect(new Set([underscores.user.id, wildcard.user.id, adminId]).size).toBe(3);
    expect((await login(server, 'ADM_N', PASSWORD)).user.id).toBe(wildcard.user.id);
  });

  it('SQL metacharacters in a password are only characters', async () => {
    const password = `'; DROP TABLE users; -- " OR 1=1 /*`;
    const bobby = await signup(server, 'bobby-tables', password);
    created.add('bobby-tables');
    expect((await login(server, 'bobby-tables', password)).user.id).toBe(bobby.user.id);
    await expectLoginRefused('bobby-tables', "' OR '1'='1");
  });

  for (const [what, spelling, original] of LOOK_ALIKES) {
    it(`a look-alike of "${original}" with ${what} is refused at signup and cannot log in as ${original}`, async () => {
      expect(spelling).not.toBe(original);
      await expectSignupRefused(spelling);
      await expectLoginRefused(spelling, original === 'admin' ? ADMIN_PASSWORD : PASSWORD);
    });
  }

  it('the look-alikes really do collide under naive folding (so the tests above mean something)', () => {
    expect('ａｄｍｉｎ'.normalize('NFKC')).toBe('admin');
    expect('\u212Aelvin'.toLowerCase()).toBe('kelvin');
    expect('adm\u0131n'.toUpperCase()).toBe('ADMIN');
  });

  it('ADMIN is admin: case-insensitive, shown as first written, and not signed up twice', async () => {
    const pair = await login(server, 'ADMIN', ADMIN_PASSWORD);
    expect(pair.user.id).toBe(adminId);
    const res = await server.gql<{ protected: { loggedInAs: string }; me: { id: string; roles: string[] } }>(
      '{ protected { loggedInAs } me { id roles } }',
      {},
      { token: pair.accessToken },
    );
    expect(res.body.data).toEqual({ protected: { loggedInAs: 'admin' }, me: { id: adminId, roles: ['USER', 'ADMIN'] } });
    for (const spelling of ['ADMIN', 'Admin', 'aDmIn']) {
      expect(errorCode(await server.gql(SIGNUP, { u: spelling, p: PASSWORD }))).toBe('USERNAME_TAKEN');
    }
  });

  it('after all of it the users table still works and holds exactly the users created', async () => {
    const admin = await login(server, 'admin', ADMIN_PASSWORD);
    const list = async () => {
      const res = await server.gql<{ users: { totalCount: number; nodes: Array<{ username: string }> } }>(
        '{ users(first: 100) { totalCount nodes { username } } }',
        {},
        { token: admin.accessToken },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.users;
    };
    const before = await list();
    expect(new Set(before.nodes.map((n) => n.username))).toEqual(created);
    expect(before.totalCount).toBe(created.size);
    await signup(server, 'after-the-storm', PASSWORD);
    expect((await list()).totalCount).toBe(created.size + 1);
  });
});
