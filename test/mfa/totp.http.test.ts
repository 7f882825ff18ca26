import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { ManualClock } from '../helpers/clock.js';
import { decodeClaims } from '../helpers/jwt.js';
import { capturingLogger } from '../helpers/logs.js';
import { AUTH_FIELDS, errorCode, login, signup, startServer, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';

/*
 * Two-factor authentication over HTTP (docs/api.md, "Two-factor
 * authentication (TOTP)"), with an injected clock so 30-second steps, the
 * 5-minute mfaToken and the skew window are walked through without sleeping.
 * Runs on SQLite and on PostgreSQL + Redis (vitest projects).
 */

const PASSWORD = 'correct horse battery';
const ENROLL = 'mutation { enrollTotp { secret otpauthUrl } }';
const CONFIRM = 'mutation ($c: String!) { confirmTotp(code: $c) }';
const DISABLE = 'mutation ($c: String!) { disableTotp(code: $c) }';
const VERIFY = `mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;
const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REFRESH = `mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;
const RESET = 'mutation ($id: ID!) { resetUserMfa(userId: $id) { id username mfaEnabled } }';
const ME = '{ me { id mfaEnabled } }';

describe('two-factor authentication (TOTP)', () => {
  const { logger, lines } = capturingLogger();
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));
  let server: TestServer;
  /** Everything that must never reach a log line: secrets, codes, mfaTokens, recovery codes. */
  const secrets: string[] = [];

  beforeAll(async () => {
    // TRUST_PROXY lets one test spread guesses over many client addresses.
    server = await startServer({ ADMIN_USERNAME: 'mfa-admin', ADMIN_PASSWORD: 'admin password 1', TRUST_PROXY: 'true' }, { deps: { logger, clock } });
  });
  afterAll(() => server.stop());

  /** The code of `secret` now (or `steps` steps away). */
  const codeOf = (secret: string, steps = 0): string => {
    const code = generateTotpCode(secret, clock.now() + steps * 30_000);
    secrets.push(code);
    return code;
  };

  /** Signs up, enrolls and confirms; leaves the clock on the next step, so the confirming code is spent and the next one is free. */
  async function withTotp(username: string): Promise<{ pair: AuthPayload; secret: string; recoveryCodes: string[] }> {
    const pair = await signup(server, username);
    const enrolled = await server.gql<{ enrollTotp: { secret: string; otpauthUrl: string } }>(ENROLL, {}, { token: pair.accessToken });
    const { secret } = enrolled.body.data!.enrollTotp;
    secrets.push(secret);
    const confirmed = await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: codeOf(secret) }, { token: pair.accessToken });
    const recoveryCodes = confirmed.body.data!.confirmTotp;
    secrets.push(...recoveryCodes);
    clock.advance(30);
    return { pair, secret, recoveryCodes };
  }

  /** Logs in a user with TOTP on; answers the MFA_REQUIRED response and its mfaToken. */
  async function firstStep(username: string, password = PASSWORD): Promise<{ res: GqlResponse<{ login: AuthPayload | null }>; mfaToken: string }> {
    const res = await server.gql<{ login: AuthPayload | null }>(LOGIN, { u: username, p: password });
    const mfaToken = res.body.errors?.[0]?.extensions?.mfaToken;
    if (typeof mfaToken !== 'string') throw new Error(`expected MFA_REQUIRED: ${JSON.stringify(res.body)}`);
    secrets.push(mfaToken);
    return { res, mfaToken };
  }

  const verify = (mfaToken: string, code: string, address?: string) =>
    server.gql<{ verifyMfa: AuthPayload }>(VERIFY, { t: mfaToken, c: code }, address ? { headers: { 'x-forwarded-for': address } } : {});
  /** A new admin token (the clock moves on: tokens from the start of the file have expired). */
  const adminToken = async () => (await login(server, 'mfa-admin', 'admin password 1')).accessToken;

  async function signIn(username: string, secret: string): Promise<AuthPayload> {
    const { mfaToken } = await firstStep(username);
    const res = await verify(mfaToken, codeOf(secret));
    if (!res.body.data?.verifyMfa) throw new Error(`verifyMfa failed: ${JSON.stringify(res.body)}`);
    clock.advance(30);
    return res.body.data.verifyMfa;
  }

  const sessionRows = async (userId: string) =>
    Number((await server.app.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number | string>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);

  describe('enrollment', () => {
    it('enrollTotp answers a base32 secret and the otpauth URL, and leaves TOTP off until confirmed', async () => {
      const pair = await signup(server, 'enrolling.one');
      const res = await server.gql<{ enrollTotp: { secret: string; otpauthUrl: string } }>(ENROLL, {}, { token: pair.accessToken });
      const { secret, otpauthUrl } = res.body.data!.enrollTotp;
      secrets.push(secret);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(otpauthUrl).toMatch(new RegExp(`^otpauth://totp/tokengate:enrolling\\.one\\?secret=${secret}&issuer=tokengate(&|$)`));
      expect((await server.gql<{ me: { mfaEnabled: boolean } }>(ME, {}, { token: pair.accessToken })).body.data?.me.mfaEnabled).toBe(false);
      // Pending only: login still answers a pair directly.
      expect((await login(server, 'enrolling.one')).accessToken).toBeTruthy();
    });

    it('a new enrollTotp replaces the pending one: the first secret no longer confirms', async () => {
      const pair = await signup(server, 'enrolling.two');
      const first = (await server.gql<{ enrollTotp: { secret: string } }>(ENROLL, {}, { token: pair.accessToken })).body.data!.enrollTotp.secret;
      const second = (await server.gql<{ enrollTotp: { secret: string } }>(ENROLL, {}, { token: pair.accessToken })).body.data!.enrollTotp.secret;
      secrets.push(first, second);
      expect(second).not.toBe(first);
      const stale = await server.gql(CONFIRM, { c: codeOf(first) }, { token: pair.accessToken });
      expect(errorCode(stale)).toBe('INVALID_MFA_CODE');
      const ok = await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: codeOf(second) }, { token: pair.accessToken });
      expect(ok.body.data?.confirmTotp).toHaveLength(10);
      clock.advance(30);
    });

    it('confirmTotp turns TOTP on and answers 10 distinct recovery codes; a wrong code or no enrollment is INVALID_MFA_CODE', async () => {
      const pair = await signup(server, 'confirming');
      expect(errorCode(await server.gql(CONFIRM, { c: '123456' }, { token: pair.accessToken }))).toBe('INVALID_MFA_CODE');
      const { secret } = (await server.gql<{ enrollTotp: { secret: string } }>(ENROLL, {}, { token: pair.accessToken })).body.data!.enrollTotp;
      secrets.push(secret);
      const wrong = String((Number(codeOf(secret)) + 1) % 1_000_000).padStart(6, '0');
      const refused = await server.gql(CONFIRM, { c: wrong }, { token: pair.accessToken });
      expect(errorCode(refused)).toBe('INVALID_MFA_CODE');
      expect(refused.body.data).toBeNull();
      const res = await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: codeOf(secret) }, { token: pair.accessToken });
      const codes = res.body.data!.confirmTotp;
      secrets.push(...codes);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
      expect((await server.gql<{ me: { mfaEnabled: boolean } }>(ME, {}, { token: pair.accessToken })).body.data?.me.mfaEnabled).toBe(true);
      clock.advance(30);
    });

    it('the TOTP mutations need a fresh token: a refreshed one gets FRESH_TOKEN_REQUIRED and writes nothing; anonymous gets UNAUTHENTICATED', async () => {
      const pair = await signup(server, 'stale.enroller');
      const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: pair.refreshToken })).body.data!.refreshToken;
      for (const [query, variables] of [[ENROLL, {}], [CONFIRM, { c: '123456' }], [DISABLE, { c: '123456' }]] as const) {
        expect(errorCode(await server.gql(query, variables, { token: refreshed.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
        expect(errorCode(await server.gql(query, variables))).toBe('UNAUTHENTICATED');
      }
      const rows = await server.app.db.selectFrom('credentials').select('kind').where('user_id', '=', pair.user.id).execute();
      expect(rows.map((r) => r.kind)).toEqual(['password']);
    });

    it('keeps the secret encrypted and the recovery codes hashed at rest', async () => {
      const { pair, secret, recoveryCodes } = await withTotp('at.rest');
      const rows = await server.app.db.selectFrom('credentials').select(['kind', 'material', 'created_at']).where('user_id', '=', pair.user.id).orderBy('kind').execute();
      expect(rows.map((r) => r.kind)).toEqual(['password', 'totp']); // no pending enrollment left
      const totp = rows[1]!;
      expect(totp.material).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      expect(totp.material).not.toContain(secret);
      expect(totp.created_at).not.toBeNull();
      const stored = await server.app.db.selectFrom('recovery_codes').select(['code_hash', 'used_at']).where('user_id', '=', pair.user.id).execute();
      expect(stored).toHaveLength(10);
      const dump = JSON.stringify(stored);
      for (const code of recoveryCodes) {
        expect(dump).not.toContain(code);
        expect(dump).not.toContain(code.replace(/-/g, ''));
      }
    });
  });

  describe('login and verifyMfa', () => {
    it('login of a user with TOTP on answers MFA_REQUIRED with an mfaToken, nulls data.login and opens no session', async () => {
      const { pair } = await withTotp('two.step');
      const before = await sessionRows(pair.user.id);
      const { res, mfaToken } = await firstStep('two.step');
      expect(res.status).toBe(200);
      expect(res.body.data).toBeNull();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]!.extensions).toEqual({ code: 'MFA_REQUIRED', mfaToken });
      expect(res.body.errors![0]!.path).toEqual(['login']);
      expect(mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await sessionRows(pair.user.id)).toBe(before);
      const stored = await server.app.db.selectFrom('mfa_tokens').select('token_hash').where('user_id', '=', pair.user.id).execute();
      expect(JSON.stringify(stored)).not.toContain(mfaToken);
      // A wrong password is still INVALID_CREDENTIALS, and reveals nothing about TOTP.
      const wrong = await server.gql(LOGIN, { u: 'two.step', p: 'wrong password!' });
      expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
      expect(wrong.body.errors![0]!.extensions).toEqual({ code: 'INVALID_CREDENTIALS' });
    });

    it('verifyMfa with a right code answers a fresh pair with amr ["pwd","otp"] that works', async () => {
      const { pair, secret } = await withTotp('verified.otp');
      const { mfaToken } = await firstStep('verified.otp');
      const res = await verify(mfaToken, codeOf(secret));
      const payload = res.body.data!.verifyMfa;
      expect(payload.tokenType).toBe('Bearer');
      expect(payload.user.id).toBe(pair.user.id);
      const claims = decodeClaims(payload.accessToken);
      expect(claims.fresh).toBe(true);
      expect(claims.amr).toEqual(['pwd', 'otp']);
      const me = await server.gql<{ me: { id: string; mfaEnabled: boolean } }>(ME, {}, { token: payload.accessToken });
      expect(me.body.data?.me).toEqual({ id: pair.user.id, mfaEnabled: true });
      // The session counts like any other.
      const sessions = await server.gql<{ mySessions: Array<{ id: string; current: boolean }> }>('{ mySessions { id current } }', {}, { token: payload.accessToken });
      expect(sessions.body.data?.mySessions.find((s) => s.current)?.id).toBe(claims.sid);
      clock.advance(30);
    });

    it('password-only tokens carry amr ["pwd"]', async () => {
      const pair = await signup(server, 'password.only');
      expect(decodeClaims(pair.accessToken).amr).toEqual(['pwd']);
      expect(decodeClaims((await login(server, 'password.only')).accessToken).amr).toEqual(['pwd']);
    });

    it('a recovery code signs in with amr ["pwd","recovery"], once', async () => {
      const { recoveryCodes } = await withTotp('recovering');
      const { mfaToken } = await firstStep('recovering');
      // Typed in capitals with spaces: still the code.
      const typed = recoveryCodes[3]!.toUpperCase().replace(/-/g, ' ');
      const res = await verify(mfaToken, typed);
      expect(decodeClaims(res.body.data!.verifyMfa.accessToken).amr).toEqual(['pwd', 'recovery']);
      expect(decodeClaims(res.body.data!.verifyMfa.accessToken).fresh).toBe(true);
      const again = await firstStep('recovering');
      expect(errorCode(await verify(again.mfaToken, recoveryCodes[3]!))).toBe('INVALID_MFA_CODE');
      // The others still work.
      expect(decodeClaims((await verify(again.mfaToken, recoveryCodes[4]!)).body.data!.verifyMfa.accessToken).amr).toEqual(['pwd', 'recovery']);
    });

    it('a wrong code is INVALID_MFA_CODE; an mfaToken is single use', async () => {
      const { secret } = await withTotp('single.use');
      const { mfaToken } = await firstStep('single.use');
      const wrong = await verify(mfaToken, '000000' === codeOf(secret) ? '111111' : '000000');
      expect(errorCode(wrong)).toBe('INVALID_MFA_CODE');
      expect(wrong.body.data).toBeNull();
      expect((await verify(mfaToken, codeOf(secret))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(30);
      // A used token refuses even the next, unused code.
      expect(errorCode(await verify(mfaToken, codeOf(secret)))).toBe('INVALID_MFA_CODE');
      for (const junk of ['', 'not-a-token', 'x'.repeat(43), 'a'.repeat(5000)]) expect(errorCode(await verify(junk, codeOf(secret)))).toBe('INVALID_MFA_CODE');
    });

    it('an mfaToken lives 5 minutes', async () => {
      const { secret } = await withTotp('five.minutes');
      const early = await firstStep('five.minutes');
      const late = await firstStep('five.minutes');
      clock.advance(299);
      expect((await verify(early.mfaToken, codeOf(secret))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(31); // 330 s after the login
      expect(errorCode(await verify(late.mfaToken, codeOf(secret)))).toBe('INVALID_MFA_CODE');
      // The code was not spent by the refused call: a new login takes it.
      expect((await verify((await firstStep('five.minutes')).mfaToken, codeOf(secret))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(30);
    });

    it('5 wrong codes kill the mfaToken: even the right code is then refused; a new login works', async () => {
      const { secret } = await withTotp('five.wrong');
      const { mfaToken } = await firstStep('five.wrong');
      const right = codeOf(secret);
      const wrongCodes = ['000000', '111111', '222222', '333333', '444444', '555555'].filter((c) => c !== right).slice(0, 5);
      for (const c of wrongCodes) expect(errorCode(await verify(mfaToken, c))).toBe('INVALID_MFA_CODE');
      const dead = await verify(mfaToken, right);
      expect(errorCode(dead)).toBe('INVALID_MFA_CODE');
      const row = await server.app.db.selectFrom('mfa_tokens').select('failures').where('user_id', '=', (await userId('five.wrong'))).executeTakeFirstOrThrow();
      expect(row.failures).toBe(5);
      // The pair (user, address) is now locked by the login budget (5 failures): see the budget test below.
    });

    it('parallel guesses on one mfaToken cannot exceed 5 tries', async () => {
      const { secret } = await withTotp('parallel.guess');
      const { mfaToken } = await firstStep('parallel.guess');
      const right = codeOf(secret);
      const guesses = Array.from({ length: 20 }, (_, i) => String(100_000 + i)).filter((c) => c !== right);
      // Each from its own address, so no per-pair lock steps in: the per-token limit is what is measured.
      const answers = await Promise.all(guesses.map((c, i) => verify(mfaToken, c, `198.51.100.${i + 1}`)));
      expect(answers.map(errorCode)).toEqual(guesses.map(() => 'INVALID_MFA_CODE'));
      const row = await server.app.db.selectFrom('mfa_tokens').select('failures').where('user_id', '=', await userId('parallel.guess')).executeTakeFirstOrThrow();
      expect(row.failures).toBe(5);
      expect(errorCode(await verify(mfaToken, right, '198.51.100.99'))).toBe('INVALID_MFA_CODE');
    });

    it('accepts one step of skew either way, not two', async () => {
      const { secret } = await withTotp('skewed');
      clock.advance(120); // clear of every step used so far
      for (const steps of [-2, 2]) {
        expect(errorCode(await verify((await firstStep('skewed')).mfaToken, codeOf(secret, steps)))).toBe('INVALID_MFA_CODE');
      }
      expect((await verify((await firstStep('skewed')).mfaToken, codeOf(secret, -1))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(90);
      expect((await verify((await firstStep('skewed')).mfaToken, codeOf(secret, 1))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(60);
    });

    it('a code works at most once: replayed in its window (or after a newer one) it is refused', async () => {
      const { secret } = await withTotp('replayed');
      const code = codeOf(secret);
      expect((await verify((await firstStep('replayed')).mfaToken, code)).body.data?.verifyMfa).toBeTruthy();
      expect(errorCode(await verify((await firstStep('replayed')).mfaToken, code))).toBe('INVALID_MFA_CODE');
      // The previous step's code is inside the skew window but older than the one used: refused.
      expect(errorCode(await verify((await firstStep('replayed')).mfaToken, codeOf(secret, -1)))).toBe('INVALID_MFA_CODE');
      clock.advance(30); // the used code is still inside its skew window
      expect(errorCode(await verify((await firstStep('replayed')).mfaToken, code))).toBe('INVALID_MFA_CODE');
      // The current step is new: accepted.
      expect((await verify((await firstStep('replayed')).mfaToken, codeOf(secret))).body.data?.verifyMfa).toBeTruthy();
      clock.advance(30);
    });

    it('the code that confirmed TOTP cannot then complete a login', async () => {
      const pair = await signup(server, 'confirm.replay');
      const { secret } = (await server.gql<{ enrollTotp: { secret: string } }>(ENROLL, {}, { token: pair.accessToken })).body.data!.enrollTotp;
      secrets.push(secret);
      const code = codeOf(secret);
      expect((await server.gql<{ confirmTotp: string[] }>(CONFIRM, { c: code }, { token: pair.accessToken })).body.data?.confirmTotp).toHaveLength(10);
      expect(errorCode(await verify((await firstStep('confirm.replay')).mfaToken, code))).toBe('INVALID_MFA_CODE');
      clock.advance(30);
    });
  });

  describe('freshness, refresh and amr', () => {
    it('a refresh keeps amr, is not fresh, and then the sensitive mutations demand a second factor again', async () => {
      const { secret } = await withTotp('refreshing');
      const pair = await signIn('refreshing', secret);
      const refreshed = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: pair.refreshToken })).body.data!.refreshToken;
      const claims = decodeClaims(refreshed.accessToken);
      expect(claims.amr).toEqual(['pwd', 'otp']);
      expect(claims.fresh).toBe(false);
      expect(claims.sid).toBe(decodeClaims(pair.accessToken).sid);
      const change = 'mutation { changePassword(currentPassword: "correct horse battery", newPassword: "another good passphrase") { accessToken } }';
      for (const [query, variables] of [[ENROLL, {}], [CONFIRM, { c: codeOf(secret) }], [DISABLE, { c: codeOf(secret) }], [change, {}]] as const) {
        expect(errorCode(await server.gql(query, variables, { token: refreshed.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
      }
      // And a second refresh still carries it.
      const again = (await server.gql<{ refreshToken: AuthPayload }>(REFRESH, { t: refreshed.refreshToken })).body.data!.refreshToken;
      expect(decodeClaims(again.accessToken).amr).toEqual(['pwd', 'otp']);
    });

    it('changePassword of a TOTP user answers a non-fresh pair (only verifyMfa issues fresh tokens) and voids half-done logins', async () => {
      const { secret } = await withTotp('changing');
      const pending = await firstStep('changing');
      const pair = await signIn('changing', secret);
      const res = await server.gql<{ changePassword: AuthPayload }>(
        `mutation { changePassword(currentPassword: "${PASSWORD}", newPassword: "another good passphrase") { ${AUTH_FIELDS} } }`,
        {},
        { token: pair.accessToken },
      );
      const changed = res.body.data!.changePassword;
      expect(decodeClaims(changed.accessToken).fresh).toBe(false);
      expect(decodeClaims(changed.accessToken).amr).toEqual(['pwd', 'otp']);
      expect(errorCode(await server.gql(ENROLL, {}, { token: changed.accessToken }))).toBe('FRESH_TOKEN_REQUIRED');
      // The login begun with the old password cannot be finished.
      expect(errorCode(await verify(pending.mfaToken, codeOf(secret)))).toBe('INVALID_MFA_CODE');
      // Without TOTP, changePassword still answers a fresh pair.
      const plain = await signup(server, 'changing.plain');
      const plainRes = await server.gql<{ changePassword: AuthPayload }>(
        `mutation { changePassword(currentPassword: "${PASSWORD}", newPassword: "another good passphrase") { accessToken } }`,
        {},
        { token: plain.accessToken },
      );
      expect(decodeClaims(plainRes.body.data!.changePassword.accessToken).fresh).toBe(true);
    });
  });

  describe('disableTotp', () => {
    it('turns TOTP off with a current code; login then answers a pair directly', async () => {
      const { secret } = await withTotp('disabling');
      const pair = await signIn('disabling', secret);
      const wrong = await server.gql(DISABLE, { c: '999999' === codeOf(secret) ? '888888' : '999999' }, { token: pair.accessToken });
      expect(errorCode(wrong)).toBe('INVALID_MFA_CODE');
      const res = await server.gql<{ disableTotp: boolean }>(DISABLE, { c: codeOf(secret) }, { token: pair.accessToken });
      expect(res.body.data?.disableTotp).toBe(true);
      expect((await server.gql<{ me: { mfaEnabled: boolean } }>(ME, {}, { token: pair.accessToken })).body.data?.me.mfaEnabled).toBe(false);
      expect(decodeClaims((await login(server, 'disabling')).accessToken).amr).toEqual(['pwd']);
      // Nothing left to disable.
      expect(errorCode(await server.gql(DISABLE, { c: codeOf(secret, 1) }, { token: pair.accessToken }))).toBe('INVALID_MFA_CODE');
      const codesLeft = await server.app.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', pair.user.id).execute();
      expect(codesLeft).toHaveLength(0);
      clock.advance(30);
    });

    it('turns TOTP off with a recovery code, and voids pending logins', async () => {
      const { secret, recoveryCodes } = await withTotp('disabling.recovery');
      const pair = await signIn('disabling.recovery', secret);
      const pending = await firstStep('disabling.recovery');
      expect((await server.gql<{ disableTotp: boolean }>(DISABLE, { c: recoveryCodes[0]! }, { token: pair.accessToken })).body.data?.disableTotp).toBe(true);
      expect(errorCode(await verify(pending.mfaToken, codeOf(secret)))).toBe('INVALID_MFA_CODE');
    });
  });

  describe('resetUserMfa (ADMIN)', () => {
    it('turns TOTP off and ends every session of that user, at once', async () => {
      const { pair: first, secret } = await withTotp('locked.out');
      const second = await signIn('locked.out', secret);
      const pending = await firstStep('locked.out');
      const res = await server.gql<{ resetUserMfa: { id: string; username: string; mfaEnabled: boolean } }>(RESET, { id: first.user.id }, { token: await adminToken() });
      expect(res.body.data?.resetUserMfa).toEqual({ id: first.user.id, username: 'locked.out', mfaEnabled: false });
      for (const token of [first.accessToken, second.accessToken]) {
        expect((await server.gql(ME, {}, { token })).body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
      }
      expect(errorCode(await server.gql(REFRESH, { t: second.refreshToken }))).toBe('INVALID_REFRESH_TOKEN');
      expect(errorCode(await verify(pending.mfaToken, codeOf(secret)))).toBe('INVALID_MFA_CODE');
      const ended = await server.app.db.selectFrom('sessions').select('end_reason').where('user_id', '=', first.user.id).execute();
      expect(ended.every((s) => s.end_reason === 'mfa_reset')).toBe(true);
      // The user signs in with the password alone and may enroll again.
      const back = await login(server, 'locked.out');
      expect(decodeClaims(back.accessToken).amr).toEqual(['pwd']);
    });

    it('is ADMIN only, and refuses an unknown id with BAD_USER_INPUT', async () => {
      const { pair } = await withTotp('not.admin');
      const other = await signup(server, 'bystander');
      const denied = await server.gql(RESET, { id: pair.user.id }, { token: other.accessToken });
      expect(errorCode(denied)).toBe('FORBIDDEN');
      expect(errorCode(await server.gql(RESET, { id: pair.user.id }))).toBe('UNAUTHENTICATED');
      // Denied means nothing was written.
      expect((await server.gql<{ me: { mfaEnabled: boolean } }>(ME, {}, { token: pair.accessToken })).body.data?.me.mfaEnabled).toBe(true);
      const unknown = await server.gql(RESET, { id: 'no-such-user' }, { token: await adminToken() });
      expect(unknown.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'userId' });
    });
  });

  describe('User.mfaEnabled', () => {
    it('is readable by the user (me, and the user of their own token pair) and by ADMIN', async () => {
      const { pair, secret } = await withTotp('visible');
      const { mfaToken } = await firstStep('visible');
      const res = await server.gql<{ verifyMfa: { user: { mfaEnabled: boolean } } }>(
        'mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { user { mfaEnabled } } }',
        { t: mfaToken, c: codeOf(secret) },
      );
      expect(res.body.data?.verifyMfa.user.mfaEnabled).toBe(true);
      clock.advance(30);
      const byAdmin = await server.gql<{ user: { mfaEnabled: boolean } }>('query ($id: ID!) { user(id: $id) { mfaEnabled } }', { id: pair.user.id }, { token: await adminToken() });
      expect(byAdmin.body.data?.user.mfaEnabled).toBe(true);
      const page = await server.gql<{ users: { nodes: Array<{ username: string; mfaEnabled: boolean }> } }>('{ users(first: 100) { nodes { username mfaEnabled } } }', {}, { token: await adminToken() });
      expect(page.body.data?.users.nodes.find((u) => u.username === 'visible')?.mfaEnabled).toBe(true);
      expect(page.body.data?.users.nodes.find((u) => u.username === 'mfa-admin')?.mfaEnabled).toBe(false);
    });
  });

  describe('brute-force budgets', () => {
    it('wrong verifyMfa codes spend the login budget of the user and address: the pair locks, even the right password is then RATE_LIMITED', async () => {
      const { secret } = await withTotp('budgeted');
      const { mfaToken } = await firstStep('budgeted');
      const right = codeOf(secret);
      const wrongCodes = ['000001', '000002', '000003', '000004', '000005'].filter((c) => c !== right);
      for (const c of wrongCodes.slice(0, 4)) expect(errorCode(await verify(mfaToken, c))).toBe('INVALID_MFA_CODE');
      // A right password in between does not reset the count (it only defers).
      const second = await firstStep('budgeted');
      expect(errorCode(await verify(second.mfaToken, wrongCodes[4]!))).toBe('INVALID_MFA_CODE');
      const locked = await server.gql(LOGIN, { u: 'budgeted', p: PASSWORD });
      expect(errorCode(locked)).toBe('RATE_LIMITED');
      expect(locked.body.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
      // While locked, even the right code on a live token is refused.
      const live = await server.app.db.selectFrom('mfa_tokens').select('failures').where('user_id', '=', await userId('budgeted')).execute();
      expect(live.some((t) => t.failures < 5)).toBe(true);
      expect(errorCode(await verify(second.mfaToken, right))).toBe('RATE_LIMITED');
    });

    it('wrong confirmTotp and disableTotp codes spend the same budget', async () => {
      const { pair, secret } = await withTotp('budgeted.disable');
      const fresh = await signIn('budgeted.disable', secret);
      for (let i = 0; i < 5; i++) {
        const c = String(200_000 + i);
        if (c === codeOf(secret)) continue;
        expect(errorCode(await server.gql(DISABLE, { c }, { token: fresh.accessToken }))).toBe('INVALID_MFA_CODE');
      }
      expect(errorCode(await server.gql(DISABLE, { c: codeOf(secret) }, { token: fresh.accessToken }))).toBe('RATE_LIMITED');
      expect((await server.gql<{ me: { mfaEnabled: boolean } }>(ME, {}, { token: pair.accessToken })).body.data?.me.mfaEnabled).toBe(true);
    });
  });

  it('no secret, code, recovery code or mfaToken reaches a log line', async () => {
    expect(secrets.length).toBeGreaterThan(50);
    const log = lines.join('');
    expect(log).toContain('auth.mfa_required');
    expect(log).toContain('auth.totp_enabled');
    expect(log).toContain('auth.mfa_failed');
    expect(log).toContain('auth.mfa_reset');
    for (const secret of new Set(secrets)) {
      // Six-digit codes could occur inside a timestamp by chance; as a logged value they would be a quoted string.
      const needle = /^\d{6}$/.test(secret) ? `"${secret}"` : secret;
      expect(log.includes(needle), `a log line contains ${secret.slice(0, 4)}…`).toBe(false);
      if (secret.includes('-')) expect(log.includes(secret.replace(/-/g, ''))).toBe(false);
    }
  });

  async function userId(username: string): Promise<string> {
    const row = await server.app.db.selectFrom('users').select('id').where('username_key', '=', username.toLowerCase()).executeTakeFirstOrThrow();
    return row.id;
  }
});
