import path from 'node:path';
import { z } from 'zod';
import { budget, duration, int, type Budget } from '../fields.js';
import type { ConfigSection } from '../section.js';

/** Email settings (docs/api.md, "Email: verification and password reset"). */
export interface MailConfig {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; null: no SMTP (files and log outside production, disabled in production). */
  readonly smtpUrl: string | null;
  /** The From header of every mail. */
  readonly from: string;
  /** Link templates; `{token}` is replaced by the URL-safe token. */
  readonly verifyUrl: string;
  readonly resetUrl: string;
  /** Lifetimes of verification and reset links, in seconds. */
  readonly verifyTtl: number;
  readonly resetTtl: number;
  /** Reset or verification mails per recipient address (beyond: answered, not sent). */
  readonly perRecipient: Budget;
  /** requestPasswordReset calls per client address (beyond: RATE_LIMITED). */
  readonly resetPerClient: Budget;
  /** Tries per mail before the outbox gives up on it. */
  readonly maxAttempts: number;
  /** The first retry delay in seconds; each further one doubles, up to retryMaxDelay. */
  readonly retryDelay: number;
  readonly retryMaxDelay: number;
  /** How often the outbox worker looks for due mail, in seconds (it is also woken by each new mail). */
  readonly pollInterval: number;
  /** Where mail goes as .eml files when there is no SMTP outside production. */
  readonly outboxDir: string;
}

const linkTemplate = (name: string) =>
  z.string().refine((text) => text.includes('{token}') && /^https?:\/\/[^\s/]+/i.test(text), {
    message: `${name} must be an http(s) URL containing {token}`,
  });

const fields = {
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/i, { message: 'SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465' }).optional(),
  MAIL_FROM: z.string().regex(/^[^\r\n]*@[^\r\n]+$/, { message: 'MAIL_FROM must be an address, e.g. "tokengate <no-reply@example.com>"' }).optional(),
  PUBLIC_URL: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/i, { message: 'PUBLIC_URL must be an http(s) URL, e.g. https://auth.example.com' }).optional(),
  EMAIL_VERIFY_URL: linkTemplate('EMAIL_VERIFY_URL').optional(),
  PASSWORD_RESET_URL: linkTemplate('PASSWORD_RESET_URL').optional(),
  EMAIL_VERIFY_TTL: duration('EMAIL_VERIFY_TTL', 30 * 86_400, 60).prefault('24h'),
  PASSWORD_RESET_TTL: duration('PASSWORD_RESET_TTL', 86_400, 60).prefault('1h'),
  RATE_LIMIT_MAIL_RECIPIENT: budget('RATE_LIMIT_MAIL_RECIPIENT').prefault('5/1h'),
  RATE_LIMIT_RESET_ADDRESS: budget('RATE_LIMIT_RESET_ADDRESS').prefault('20/1h'),
  MAIL_MAX_ATTEMPTS: int('MAIL_MAX_ATTEMPTS', 1, 100).prefault('10'),
  MAIL_RETRY_DELAY: duration('MAIL_RETRY_DELAY', 86_400, 1).prefault('30s'),
  MAIL_RETRY_MAX_DELAY: duration('MAIL_RETRY_MAX_DELAY', 7 * 86_400, 1).prefault('1h'),
  MAIL_POLL_INTERVAL: duration('MAIL_POLL_INTERVAL', 3_600, 1).prefault('5s'),
  MAIL_OUTBOX_DIR: z.string().min(1).optional(),
};

/** SMTP, the links in mails, their lifetimes and budgets, and the outbox. */
export const mailSection: ConfigSection<typeof fields, { readonly mail: MailConfig }, { PORT: number }> = {
  title: 'Email',
  notes:
    'See [Email](../guides/email.md) for the flows, [SMTP settings for common providers](../guides/email.md) and [the outbox](../guides/email.md).',
  fields,
  docs: {
    SMTP_URL: {
      default: 'none',
      description:
        '`smtp://user:pass@host:587` or `smtps://user:pass@host:465`. Without it: `.eml` files outside production, mail disabled in production (`EMAIL_DISABLED`). Never logged.',
    },
    MAIL_FROM: { default: '`tokengate <no-reply@localhost>`', description: 'The From of every mail; required with `SMTP_URL` in production.' },
    PUBLIC_URL: {
      default: '`http://localhost:<PORT>`',
      description: 'Where users reach this server; the default links point at its `/verify-email` and `/reset-password` pages.',
    },
    EMAIL_VERIFY_URL: {
      default: '`<PUBLIC_URL>/verify-email?token={token}`',
      description: 'Verification link template; an http(s) URL containing `{token}`.',
    },
    PASSWORD_RESET_URL: {
      default: '`<PUBLIC_URL>/reset-password?token={token}`',
      description: 'Reset link template; an http(s) URL containing `{token}`.',
    },
    EMAIL_VERIFY_TTL: 'Lifetime of a verification link (`1m`–`30d`).',
    PASSWORD_RESET_TTL: 'Lifetime of a reset link (`1m`–`24h`).',
    RATE_LIMIT_MAIL_RECIPIENT: 'Verification or reset mails per address, per window; beyond, calls answer as usual and send nothing.',
    RATE_LIMIT_RESET_ADDRESS: '`requestPasswordReset` calls per client address, per window; beyond, `RATE_LIMITED`.',
    MAIL_MAX_ATTEMPTS: 'Tries per mail before the outbox gives up on it (1–100).',
    MAIL_RETRY_DELAY: 'Delay before the first retry; each further one doubles.',
    MAIL_RETRY_MAX_DELAY: 'Longest delay between two tries.',
    MAIL_POLL_INTERVAL: 'How often each instance\'s worker looks for due mail besides being woken by new mail.',
    MAIL_OUTBOX_DIR: { default: '`<data folder>/outbox`', description: 'Where `.eml` files go without `SMTP_URL` outside production.' },
  },
  check: ({ raw }) =>
    raw.NODE_ENV === 'production' && raw.SMTP_URL !== undefined && raw.MAIL_FROM === undefined
      ? ['MAIL_FROM is required with SMTP_URL when NODE_ENV=production']
      : [],
  build: (e, { dataDir }) => {
    const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
    return {
      mail: Object.freeze({
        smtpUrl: e.SMTP_URL ?? null,
        from: e.MAIL_FROM ?? 'tokengate <no-reply@localhost>',
        verifyUrl: e.EMAIL_VERIFY_URL ?? `${publicUrl}/verify-email?token={token}`,
        resetUrl: e.PASSWORD_RESET_URL ?? `${publicUrl}/reset-password?token={token}`,
        verifyTtl: e.EMAIL_VERIFY_TTL,
        resetTtl: e.PASSWORD_RESET_TTL,
        perRecipient: Object.freeze(e.RATE_LIMIT_MAIL_RECIPIENT),
        resetPerClient: Object.freeze(e.RATE_LIMIT_RESET_ADDRESS),
        maxAttempts: e.MAIL_MAX_ATTEMPTS,
        retryDelay: e.MAIL_RETRY_DELAY,
        retryMaxDelay: Math.max(e.MAIL_RETRY_MAX_DELAY, e.MAIL_RETRY_DELAY),
        pollInterval: e.MAIL_POLL_INTERVAL,
        outboxDir: path.resolve(e.MAIL_OUTBOX_DIR ?? path.join(dataDir, 'outbox')),
      }),
    };
  },
};
