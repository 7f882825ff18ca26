/** What a queued mail is for (audit lines and metrics name it; never its content). */
export type MailKind = 'verify_email' | 'reset_password';

/** A mail ready to hand to a Mailer. */
export interface OutgoingMail {
  /** The outbox row id; also the Message-ID's local part, so a resend is recognisable. */
  readonly id: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** The mailer port: the outbox worker sends through it. */
export interface Mailer {
  /** Delivers one mail, or throws (the outbox retries later). */
  send(mail: OutgoingMail): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
