import path from 'node:path';
import { z } from 'zod';
import { budget, duration, int, type Budget } from './fields.js';

/** Email settings (../shared/API.md, "Email: verification and password reset"). */
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

/** The environment settings of this section, merged into loadConfig's schema. */
export const mailSettings = {
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^\s]+$/i, { message: 'SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465' }).optional(),
  MAIL_FROM: z.string().regex(/^[^\r\n]*@[^\r\n]+$/, { message: 'MAIL_FROM must be an address, e.g. "tokengate <no-reply@example.com>"' }).optional(),
  PUBLIC_URL: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/i, { message: 'PUBLIC_URL must be an http(s) URL, e.g. https://auth.example.com' }).optional(),
  EMAIL_VERIFY_URL: linkTemplate('EMAIL_VERIFY_URL').optional(),
  PASSWORD_RESET_URL: linkTemplate('PASSWORD_RESET_URL').optional(),
  EMAIL_VERIFY_TTL: duration('EMAIL_VERIFY_TTL', 30 * 86_400, 60).default(86_400),
  PASSWORD_RESET_TTL: duration('PASSWORD_RESET_TTL', 86_400, 60).default(3_600),
  RATE_LIMIT_MAIL_RECIPIENT: budget('RATE_LIMIT_MAIL_RECIPIENT').default({ points: 5, duration: 3_600 }),
  RATE_LIMIT_RESET_ADDRESS: budget('RATE_LIMIT_RESET_ADDRESS').default({ points: 20, duration: 3_600 }),
  MAIL_MAX_ATTEMPTS: int('MAIL_MAX_ATTEMPTS', 1, 100).default(10),
  MAIL_RETRY_DELAY: duration('MAIL_RETRY_DELAY', 86_400, 1).default(30),
  MAIL_RETRY_MAX_DELAY: duration('MAIL_RETRY_MAX_DELAY', 7 * 86_400, 1).default(3_600),
  MAIL_POLL_INTERVAL: duration('MAIL_POLL_INTERVAL', 3_600, 1).default(5),
  MAIL_OUTBOX_DIR: z.string().min(1).optional(),
};

type MailEnv = z.output<z.ZodObject<typeof mailSettings>>;

/** Problems across mail settings, read from the raw environment. */
export function mailProblems(env: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && env.SMTP_URL !== undefined && env.MAIL_FROM === undefined) {
    problems.push('MAIL_FROM is required with SMTP_URL when NODE_ENV=production');
  }
  return problems;
}

/** Builds the frozen mail section from the parsed settings. */
export function mailConfig(e: MailEnv & { PORT: number }, dataDir: string): MailConfig {
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return Object.freeze({
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
  });
}
