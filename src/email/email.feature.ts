import type { Core } from '../core/core.js';
import type { Feature } from '../core/feature.js';
import { emailMigrations } from './email.migrations.js';
import { emailResolvers } from './email.resolvers.js';
import { EmailService, type MailDelivery } from './email.service.js';
import { pruneSpentEmailTokens } from './email-token.repository.js';
import { MailRateLimits } from './mail-rate-limits.js';
import { FileMailer, SmtpMailer } from './mail/mailers.js';
import { OutboxWorker } from './mail/outbox-worker.js';
import { pruneSettledMail } from './mail/outbox.repository.js';

/** What the email feature offers the others (signup queues the first verification link). */
export interface EmailFeature extends Feature {
  readonly email: EmailService;
  /** The mail outbox worker (null when mail is disabled): `queueDepth()` feeds the `tokengate_mail_queue_depth` gauge. */
  readonly outbox: OutboxWorker | null;
}

/**
 * Email addresses, verification links, password reset and the mail outbox
 * (docs/api.md, "Email"). How mail leaves is this feature's choice: SMTP when
 * SMTP_URL is set; outside production without it, .eml files in the outbox
 * folder; in production without it, nowhere (the flows that need mail
 * answer EMAIL_DISABLED).
 */
export function createEmailFeature(core: Core): EmailFeature {
  const { config, db, clock, logger, redis } = core;
  const { mail } = config;
  const delivery: MailDelivery = mail.smtpUrl !== null ? 'smtp' : config.env === 'production' ? 'disabled' : 'files';
  const mailer = delivery === 'disabled' ? null : mail.smtpUrl !== null ? new SmtpMailer(mail.smtpUrl, mail.from) : new FileMailer(mail.outboxDir, mail.from, logger);
  const outbox = mailer ? new OutboxWorker({ db, dialect: config.database.dialect, mailer, clock, logger, policy: mail }) : null;
  if (outbox) core.metrics.setMailQueueDepthSource(() => outbox.queueDepth());
  const email = new EmailService({
    db,
    clock,
    hasher: core.hasher,
    sessions: core.sessions,
    rateLimits: new MailRateLimits(mail, logger, redis && config.redis ? { client: redis, prefix: config.redis.prefix } : null),
    logger,
    config: mail,
    delivery,
    // A queued mail wakes the worker at once instead of at its next poll.
    mailQueued: () => outbox?.nudge(),
  });
  return {
    name: 'email',
    schema: ['email.graphql'],
    resolvers: emailResolvers(email),
    migrations: emailMigrations,
    pruneTasks: [
      // One-time tokens once spent, and mail once sent or given up (its body is already erased), past the session retention.
      { name: 'email_tokens', prune: (now, limit) => pruneSpentEmailTokens(db, now, limit) },
      { name: 'mail_outbox', prune: (now, limit) => pruneSettledMail(db, now - config.operations.sessionRetention * 1000, limit) },
    ],
    email,
    outbox,
    async start() {
      if (delivery === 'disabled') {
        logger.warn(
          { event: 'mail.disabled' },
          'SMTP_URL is not set: email addresses are stored unverified, and requestPasswordReset/requestEmailVerification answer FORBIDDEN (EMAIL_DISABLED)',
        );
      }
      outbox?.start();
    },
    async stop() {
      await outbox?.stop();
    },
  };
}
