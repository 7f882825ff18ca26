import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/logger.js';
import type { Mailer } from './mail.js';
import * as outbox from './outbox.repository.js';

/** How the worker retries. */
export interface OutboxPolicy {
  /** Tries per mail before giving up. */
  readonly maxAttempts: number;
  /** Seconds before the first retry; each further one doubles… */
  readonly retryDelay: number;
  /** …up to this many seconds. */
  readonly retryMaxDelay: number;
  /** Seconds between looks at the queue when nothing wakes the worker. */
  readonly pollInterval: number;
}

/** Dependencies of the worker. */
export interface OutboxWorkerDeps {
  readonly db: Db;
  readonly dialect: 'sqlite' | 'postgres';
  readonly mailer: Mailer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: OutboxPolicy;
}

/** Rows claimed per query. */
const BATCH = 10;
/** How long a claim holds a row: longer than any send can take with the mailer's timeouts. */
const LEASE_MS = 5 * 60_000;

/** Seconds to wait after the `attempts`-th failed try: exponential, capped. */
export function retryDelaySeconds(attempts: number, policy: Pick<OutboxPolicy, 'retryDelay' | 'retryMaxDelay'>): number {
  return Math.min(policy.retryDelay * 2 ** Math.max(0, attempts - 1), policy.retryMaxDelay);
}

/**
 * Whether the SMTP server refused this mail's envelope for good (a 5xx
 * answer to the recipient or sender): trying again cannot help. Other
 * failures (connection, TLS, authentication, 4xx) are retried: they end
 * when the server or its configuration is fixed.
 */
export function isPermanentRejection(error: unknown): boolean {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown };
  return e.code === 'EENVELOPE' && typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
}

/**
 * What is kept of a send failure: its code and message, bounded, with any
 * credentials in a URL and any long token-like run removed. The error of a
 * failed send never holds the body, but it may echo a server's answer or the
 * connection URL; the link must not reach a log or the table that way.
 */
export function describeSendError(error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown; message?: unknown };
  const parts = [typeof e.code === 'string' ? e.code : null, typeof e.responseCode === 'number' ? String(e.responseCode) : null].filter(Boolean);
  const message = typeof e.message === 'string' ? e.message : String(error);
  const text = `${parts.join(' ')}${parts.length ? ': ' : ''}${message}`
    .replace(/\/\/[^/@\s]*@/g, '//[redacted]@')
    .replace(/[A-Za-z0-9_-]{32,}/g, '[redacted]')
    .replace(/\s+/g, ' ');
  return text.slice(0, 300);
}

/**
 * Sends the queued mail: claims due rows, sends each through the mailer,
 * marks it sent (erasing the body), or schedules a retry with exponential
 * backoff, and gives up after `maxAttempts` with an error log line. Requests
 * never wait for it: they only write the row and wake the worker.
 *
 * Safe with several instances (each claims different rows, see
 * claimDueMail). A mail is sent at least once: if an instance dies between
 * the SMTP server's acceptance and marking the row, the lease runs out and
 * the mail goes again (same Message-ID, so most mail systems drop the copy).
 */
export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly deps: OutboxWorkerDeps) {}

  /** Starts polling; a first pass runs at once (mail left by an earlier run goes out now). */
  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.nudge(), this.deps.policy.pollInterval * 1000);
    this.timer.unref();
    this.nudge();
  }

  /** Asks for a pass soon, without waiting for it; passes never overlap. */
  nudge(): void {
    if (this.stopped) return;
    void this.runOnce().catch(() => undefined);
  }

  /**
   * Runs a pass that starts after this call (waiting for one in progress), and
   * resolves when it is done. Tests call it to settle the queue deterministically.
   */
  async runOnce(): Promise<void> {
    if (this.pass) {
      this.again = true;
      while (this.pass) await this.pass;
      return;
    }
    this.pass = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again && !this.stopped);
      } catch (error) {
        this.deps.logger.error({ err: error, event: 'mail.outbox_error' }, 'the mail outbox could not be read; retrying at the next poll');
      } finally {
        this.pass = null;
      }
    })();
    await this.pass;
  }

  /** Stops polling and waits for the pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.pass) await this.pass;
    await this.deps.mailer.close();
  }

  /** How many mails wait to be sent. */
  queueDepth(): Promise<number> {
    return outbox.countQueuedMail(this.deps.db);
  }

  private async drain(): Promise<void> {
    const { db, dialect, clock } = this.deps;
    for (;;) {
      const claimed = await outbox.claimDueMail(db, dialect, clock.now(), LEASE_MS, BATCH);
      if (claimed.length === 0) return;
      for (const mail of claimed) await this.deliver(mail);
      if (this.stopped) return;
    }
  }

  private async deliver(mail: outbox.ClaimedMail): Promise<void> {
    const { db, clock, logger, policy } = this.deps;
    const facts = { mailId: mail.id, kind: mail.kind, userId: mail.userId, attempts: mail.attempts };
    try {
      await this.deps.mailer.send(mail);
    } catch (error) {
      const reason = describeSendError(error);
      if (mail.attempts >= policy.maxAttempts || isPermanentRejection(error)) {
        await outbox.markMailFailed(db, mail.id, clock.now(), reason);
        logger.error({ event: 'mail.failed', ...facts, error: reason }, `gave up on a mail after ${mail.attempts} tries`);
        return;
      }
      const delay = retryDelaySeconds(mail.attempts, policy);
      const nextAttemptAt = clock.now() + delay * 1000;
      await outbox.markMailRetry(db, mail.id, nextAttemptAt, reason);
      logger.warn({ event: 'mail.retry', ...facts, retryIn: delay, error: reason }, 'mail.retry');
      return;
    }
    await outbox.markMailSent(db, mail.id, clock.now());
    logger.info({ event: 'mail.sent', ...facts }, 'mail.sent');
  }
}
