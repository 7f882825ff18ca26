import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../../platform/logger.js';
import type { Mailer, OutgoingMail } from './mail.js';

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
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transport.sendMail(toMessage(mail, this.from));
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * Development without SMTP: each mail becomes an .eml file (open it with any
 * mail program) and one log line says where. The log line never carries the
 * link: logs travel further than the data folder.
 */
export class FileMailer implements Mailer {
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.composer.sendMail(toMessage(mail, this.from));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${mail.id}.eml`);
    // 0600: the file holds a live link.
    writeFileSync(file, info.message as Buffer, { mode: 0o600 });
    this.logger.info({ event: 'mail.written', mailId: mail.id, file }, `mail written to ${file} (no SMTP_URL set)`);
  }

  async close(): Promise<void> {}
}
