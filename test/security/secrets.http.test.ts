import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotpCode } from '../../src/mfa/totp.js';
import { hashMfaToken } from '../../src/tokens/mfa-token.js';
import { hashOneTimeToken } from '../../src/tokens/one-time-token.js';
import { hashRefreshToken } from '../../src/tokens/refresh-token.js';
import { ManualClock } from '../helpers/clock.js';
import { capturingLogger } from '../helpers/logs.js';
import { TestSmtpServer } from '../helpers/smtp.js';
import { AUTH_FIELDS, startServer, type AuthPayload, type GqlResponse, type TestServer } from '../helpers/server.js';

/*
 * Every secret a run handles, and none where it must not be. The test walks
 * every flow that makes or takes a secret (passwords, access and refresh
 * tokens, mfaTokens, the TOTP secret, its codes, recovery codes, email link
 * tokens), keeps each one (and the hash the database stores of it), then reads
 * every audit event, every log line (at trace level) and every metric, and
 * looks for each secret in all of them. Runs on SQLite and on PostgreSQL + Redis.
 */

const LOGIN = `mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const VERIFY_MFA = `mutation ($t: String!, $c: String!) { verifyMfa(mfaToken: $t, code: $c) { ${AUTH_FIELDS} } }`;

describe('no secret reaches an audit event, a log line or a metric', () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 6, 12, 0, 0));
  const logs = capturingLogger('trace');
  let smtp: TestSmtpServer;
  let server: TestServer;
  /** Every secret the run used, with the stored form of each (what a leak of the database would show). */
  const secrets = new Set<string>();
  /** Six-digit codes: looked for as whole numbers, since digits occur everywhere. */
  const codes = new Set<string>();

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    server = await startServer(
      { SMTP_URL: smtp.url, MAIL_FROM: 'tokengate <auth@example.test>', LOG_LEVEL: 'trace', ADMIN_USERNAME: 'keeper', ADMIN_PASSWORD: 'keeper password 1' },
      { deps: { clock, logger: logs.logger } },
    );
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
  });

  const keep = (...values: string[]) => values.forEach((v) => secrets.add(v));
  const keepPair = (pair: AuthPayload) => keep(pair.accessToken, pair.refreshToken, hashRefreshToken(pair.refreshToken));
  const data = <T>(res: GqlResponse<T>): T => {
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    return res.body.data;
  };
  const code = (secret: string) => {
    const value = generateTotpCode(secret, clock.now());
    codes.add(value);
    return value;
  };
  const mfaTokenOf = (res: GqlResponse) => {
    const token = res.body.errors?.[0]?.extensions?.mfaToken as string;
    keep(token, hashMfaToken(token));
    return token;
  };
  const mailToken = async (to: string, count: number) => {
    const mails = await smtp.waitFor(to, count);
    const token = mails.at(-1)!.token;
    keep(token, hashOneTimeToken(token));
    return token;
  };

  it('walks every flow that makes or takes a secret', async () => {
    const passwords = ['first password 1', 'not my password!', 'second password 2', 'third password 3', 'keeper password 1'];
    keep(...passwords);
    const signup = data(
      await server.gql<{ signup: AuthPayload }>(`mutation ($p: String!) { signup(username: "sam", password: $p, email: "sam@example.test") { ${AUTH_FIELDS} } }`, { p: passwords[0] }),
    ).signup;
    keepPair(signup);
    data(await server.gql('mutation ($t: String!) { verifyEmail(token: $t) }', { t: await mailToken('sam@example.test', 1) }));

    await server.gql(LOGIN, { u: 'sam', p: passwords[1] });
    const pair = data(await server.gql<{ login: AuthPayload }>(LOGIN, { u: 'sam', p: passwords[0] })).login;
    keepPair(pair);
    keepPair(data(await server.gql<{ refreshToken: AuthPayload }>(`mutation ($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`, { t: pair.refreshToken })).refreshToken);

    const { secret } = data(await server.gql<{ enrollTotp: { secret: string; otpauthUrl: string } }>('mutation { enrollTotp { secret otpauthUrl } }', {}, { token: pair.accessToken })).enrollTotp;
    keep(secret);
    const recovery = data(await server.gql<{ confirmTotp: string[] }>('mutation ($c: String!) { confirmTotp(code: $c) }', { c: code(secret) }, { token: pair.accessToken })).confirmTotp;
    keep(...recovery);

    clock.advance(30);
    const mfaToken = mfaTokenOf(await server.gql(LOGIN, { u: 'sam', p: passwords[0] }));
    await server.gql(VERIFY_MFA, { t: mfaToken, c: '000000' === code(secret) ? '111111' : '000000' });
    const second = data(await server.gql<{ verifyMfa: AuthPayload }>(VERIFY_MFA, { t: mfaToken, c: code(secret) })).verifyMfa;
    keepPair(second);
    const third = data(await server.gql<{ verifyMfa: AuthPayload }>(VERIFY_MFA, { t: mfaTokenOf(await server.gql(LOGIN, { u: 'sam', p: passwords[0] })), c: recovery[0]! })).verifyMfa;
    keepPair(third);

    const changed = data(
      await server.gql<{ changePassword: AuthPayload }>(`mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { ${AUTH_FIELDS} } }`, { c: passwords[0], n: passwords[2] }, { token: third.accessToken }),
    ).changePassword;
    keepPair(changed);

    data(await server.gql('mutation { requestPasswordReset(email: "sam@example.test") }'));
    data(await server.gql('mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }', { t: await mailToken('sam@example.test', 2), p: passwords[3] }));

    clock.advance(30);
    const last = data(await server.gql<{ verifyMfa: AuthPayload }>(VERIFY_MFA, { t: mfaTokenOf(await server.gql(LOGIN, { u: 'sam', p: passwords[3] })), c: code(secret) })).verifyMfa;
    keepPair(last);
    clock.advance(30);
    data(await server.gql('mutation ($c: String!) { disableTotp(code: $c) }', { c: code(secret) }, { token: last.accessToken }));

    const admin = data(await server.gql<{ login: AuthPayload }>(LOGIN, { u: 'keeper', p: passwords[4] })).login;
    keepPair(admin);
    data(await server.gql('mutation ($id: ID!) { setUserRoles(userId: $id, roles: [USER, ADMIN]) { id } }', { id: signup.user.id }, { token: admin.accessToken }));
    data(await server.gql('mutation { logoutAll }', {}, { token: last.accessToken }));
    expect(secrets.size).toBeGreaterThan(30);
    expect(codes.size).toBeGreaterThan(2);
  });

  it('finds none of them in the audit trail, the logs or /metrics, which all recorded the run', async () => {
    const events = await server.app.db.selectFrom('audit_events').selectAll().execute();
    const types = new Set(events.map((e) => e.type));
    for (const type of ['user.created', 'login.failure', 'login.success', 'mfa.enabled', 'mfa.required', 'mfa.failure', 'password.changed', 'password.reset', 'email.verified', 'roles.changed', 'session.ended', 'mfa.disabled']) {
      expect(types, type).toContain(type);
    }
    const places: Record<string, string> = {
      'audit events': JSON.stringify(events),
      'log lines': logs.lines.join('\n'),
      metrics: await (await fetch(`${server.url}/metrics`)).text(),
    };
    expect(logs.lines.length).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const secret of secrets) if (text.includes(secret)) leaks.push(`${place}: ${secret.slice(0, 12)}…`);
      for (const value of codes) if (new RegExp(`(^|[^0-9])${value}([^0-9]|$)`).test(text)) leaks.push(`${place}: code ${value}`);
    }
    expect(leaks).toEqual([]);
  });
});
