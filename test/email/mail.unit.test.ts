import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { describeSendError, isPermanentRejection, retryDelaySeconds } from '../../src/email/mail/outbox-worker.js';
import { buildLink, describeDuration, escapeHtml, renderMail } from '../../src/email/mail/templates.js';
import {
  generateOneTimeToken,
  hashOneTimeToken,
  isOneTimeTokenUsable,
  isWellFormedOneTimeToken,
  oneTimeTokenExpiry,
} from '../../src/tokens/one-time-token.js';
import { EMAIL_MAX_LENGTH, emailKey, normalizeEmail } from '../../src/users/user.js';

describe('one-time link tokens', () => {
  it('are 256 random bits, URL-safe, distinct, and stored as a SHA-256 that does not contain them', () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateOneTimeToken));
    expect(tokens.size).toBe(1000);
    for (const token of [...tokens].slice(0, 20)) {
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(isWellFormedOneTimeToken(token)).toBe(true);
      const hash = hashOneTimeToken(token);
      expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(hash).not.toBe(token);
      expect(hashOneTimeToken(token)).toBe(hash);
    }
    for (const bad of ['', 'short', `${generateOneTimeToken()}=`, 'a'.repeat(44), `${'a'.repeat(42)}+`]) expect(isWellFormedOneTimeToken(bad)).toBe(false);
  });

  it('work until their expiry, once', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const expiresAt = new Date(oneTimeTokenExpiry(now, 3600));
    expect(expiresAt.getTime() - now).toBe(3_600_000);
    expect(isOneTimeTokenUsable({ expiresAt, usedAt: null }, now + 3_599_999)).toBe(true);
    expect(isOneTimeTokenUsable({ expiresAt, usedAt: null }, now + 3_600_000)).toBe(false);
    expect(isOneTimeTokenUsable({ expiresAt, usedAt: new Date(now) }, now + 1)).toBe(false);
  });
});

describe('email addresses', () => {
  it('are trimmed, kept as written, and keyed case-insensitively', () => {
    expect(normalizeEmail('  Ann.Lee+tag@Example.COM\t')).toEqual({ email: 'Ann.Lee+tag@Example.COM', key: 'ann.lee+tag@example.com' });
    expect(emailKey('ANN@example.com')).toBe(emailKey('ann@EXAMPLE.com'));
    expect(normalizeEmail('jörg@müller.de')?.key).toBe('jörg@müller.de');
  });

  it('refuse what could smuggle a header or a second recipient, and what is too long', () => {
    for (const bad of [
      '', ' ', 'plain', 'a@b', '@example.com', 'a@', 'a@@example.com', 'a@example..com', 'a b@example.com', 'a@exa mple.com',
      'a\r\nBcc: x@example.com@example.com', 'a@example.com\nBcc: x@example.com', '<a@example.com>', 'a@example.com, b@example.com',
      'a;b@example.com', '"quoted"@example.com', 'a\\b@example.com', 'a@[127.0.0.1]', `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(64)}.com`,
    ]) {
      expect(normalizeEmail(bad), JSON.stringify(bad)).toBeNull();
    }
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    expect(longest).toHaveLength(EMAIL_MAX_LENGTH);
    expect(normalizeEmail(longest)).not.toBeNull();
    expect(normalizeEmail(`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.test`)).toBeNull();
  });
});

describe('mail templates', () => {
  it('escape every value in the HTML, and put the link in both bodies', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const mail = renderMail('reset_password', { username: '<script>x</script>', link: 'https://app.example/reset?token=abc&x="1"', ttlSeconds: 3600 });
    expect(mail.subject).toBe('Reset your password');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.html).toContain('href="https://app.example/reset?token=abc&amp;x=&quot;1&quot;"');
    expect(mail.text).toContain('https://app.example/reset?token=abc&x="1"');
    expect(mail.text).toContain('for 1 hour');
    expect(mail.html).not.toMatch(/<img|<link|url\(|@import/);
  });

  it('build links from templates with {token} replaced', () => {
    expect(buildLink('https://app.example/verify?token={token}', 'a_b-c')).toBe('https://app.example/verify?token=a_b-c');
    expect(buildLink('https://app.example/#/reset/{token}/{token}', 't')).toBe('https://app.example/#/reset/t/t');
    expect(describeDuration(86_400)).toBe('24 hours');
    expect(describeDuration(7_200)).toBe('2 hours');
    expect(describeDuration(1_800)).toBe('30 minutes');
    expect(describeDuration(90)).toBe('90 seconds');
  });
});

describe('the outbox retry policy', () => {
  it('doubles the delay after each failed try, up to the cap', () => {
    const policy = { retryDelay: 30, retryMaxDelay: 3600 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => retryDelaySeconds(n, policy))).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
  });

  it('keeps of a send error its code and message, never credentials or a token', () => {
    const token = generateOneTimeToken();
    const error = Object.assign(new Error(`Invalid login for smtp://user:secret-pass@mail.example.com:587, link ${token}`), { code: 'EAUTH', responseCode: 535 });
    const text = describeSendError(error);
    expect(text).toMatch(/^EAUTH 535: Invalid login/);
    expect(text).not.toContain('secret-pass');
    expect(text).not.toContain(token);
    expect(describeSendError(new Error('x'.repeat(1000))).length).toBeLessThanOrEqual(300);
  });

  it('gives up at once only on a 5xx refusal of the envelope', () => {
    expect(isPermanentRejection(Object.assign(new Error('no such user'), { code: 'EENVELOPE', responseCode: 550 }))).toBe(true);
    expect(isPermanentRejection(Object.assign(new Error('try later'), { code: 'EENVELOPE', responseCode: 451 }))).toBe(false);
    expect(isPermanentRejection(Object.assign(new Error('bad login'), { code: 'EAUTH', responseCode: 535 }))).toBe(false);
    expect(isPermanentRejection(Object.assign(new Error('refused'), { code: 'ECONNECTION' }))).toBe(false);
  });
});

describe('mail settings', () => {
  const base = { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40) };
  it('default to the contract: 24h and 1h links, 5 mails per address and 20 resets per client per hour, links to our own pages', () => {
    const { mail } = loadConfig({ ...base, PORT: '4100' });
    expect(mail).toMatchObject({
      smtpUrl: null,
      verifyTtl: 86_400,
      resetTtl: 3_600,
      perRecipient: { points: 5, duration: 3_600 },
      resetPerClient: { points: 20, duration: 3_600 },
      verifyUrl: 'http://localhost:4100/verify-email?token={token}',
      resetUrl: 'http://localhost:4100/reset-password?token={token}',
      maxAttempts: 10,
    });
    expect(loadConfig({ ...base, PUBLIC_URL: 'https://auth.example.com/' }).mail.resetUrl).toBe('https://auth.example.com/reset-password?token={token}');
    expect(loadConfig({ ...base, PASSWORD_RESET_URL: 'https://app.example.com/reset#{token}' }).mail.resetUrl).toBe('https://app.example.com/reset#{token}');
  });

  it('refuse malformed settings, each named', () => {
    const bad = {
      SMTP_URL: 'mail.example.com:25',
      EMAIL_VERIFY_URL: 'https://app.example.com/verify',
      PASSWORD_RESET_URL: 'javascript:alert({token})',
      PASSWORD_RESET_TTL: '2d',
      RATE_LIMIT_MAIL_RECIPIENT: 'five',
      MAIL_MAX_ATTEMPTS: '0',
    };
    expect(() => loadConfig({ ...base, ...bad })).toThrow(
      /SMTP_URL[\s\S]*EMAIL_VERIFY_URL[\s\S]*PASSWORD_RESET_URL[\s\S]*PASSWORD_RESET_TTL[\s\S]*RATE_LIMIT_MAIL_RECIPIENT[\s\S]*MAIL_MAX_ATTEMPTS/,
    );
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', JWT_SECRET: 'a-strong-production-secret-0123456789-abcdefgh', SMTP_URL: 'smtps://u:p@mail.example.com:465' })).toThrow(/MAIL_FROM is required/);
  });
});
