import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type * as Nodemailer from 'nodemailer';
import type { Logger } from '../../platform/logger.js';
import type { Mailer, OutgoingMail } from './mail.js';

/**
 * nodemailer, loaded at the first mail: it is the largest package of the
 * server (about 430 KiB of the bundle) and most starts send no mail, so a
 * cold start does not pay for it.
 */
async function createTransport(options: Parameters<typeof Nodemailer.createTransport>[0]): Promise<Transporter> {
  const nodemailer = (await import('nodemailer')).default;
  return nodemailer.createTransport(options);
}

function messageId(mail: OutgoingMail, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'tokengate.local';
  return `<${mail.id}@${domain}>`;
}

/** The message both mailers hand to nodemailer: the same headers whether it goes over SMTP or into a file. */
function toMessage(mail: OutgoingMail, from: string) {
  return { from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: messageId(mail, from) };
}

/**
 * Sends over SMTP with nodemailer, from SMTP_URL (`smtp://` with STARTTLS when
 * the server offers it, `smtps://` for TLS from the first byte). Short
 * timeouts: the outbox retries, so a hung server must not hold a worker for
 * nodemailer's default two minutes.
 */
export class SmtpMailer implements Mailer {
  private transport: Promise<Transporter> | null = null;

  constructor(
    private readonly url: string,
    private readonly from: string,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.transport ??= createTransport({ url: this.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    await (await this.transport).sendMail(toMessage(mail, this.from));
  }

  async close(): Promise<void> {
    (await this.transport)?.close();
  }
}

/**
 * Development without SMTP: each mail becomes an .eml file (open it with any
 * mail program) and one log line says where. The log line never carries the
 * link: logs travel further than the data folder.
 */
export class FileMailer implements Mailer {
  private composer: Promise<Transporter> | null = null;

  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    this.composer ??= createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    const info = await (await this.composer).sendMail(toMessage(mail, this.from));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${mail.id}.eml`);
    // 0600: the file holds a live link.
    writeFileSync(file, info.message as Buffer, { mode: 0o600 });
    this.logger.info({ event: 'mail.written', mailId: mail.id, file }, `mail written to ${file} (no SMTP_URL set)`);
  }

  async close(): Promise<void> {}
}
