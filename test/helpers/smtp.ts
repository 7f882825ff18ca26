import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './own-services.js';

/** A mail as the test SMTP server received and parsed it. */
export interface ReceivedMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly messageId: string;
  /** The one-time token of the mail's link. */
  readonly token: string;
  /** The link itself. */
  readonly link: string;
}

const USER = 'tokengate';
const PASS = 'smtp-test-password';

/**
 * A real SMTP server (the nodemailer project's smtp-server) in the test
 * process, on a free loopback port, that requires the credentials of its
 * URL, refuses recipients starting with "bounce" (550), keeps and parses
 * every mail it accepts, and can be stopped and
 * started again on the same port (an outage).
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  private server: SMTPServer | null = null;
  private waiters = new Set<() => void>();

  private constructor(
    readonly port: number,
    private readonly delayMs: number,
  ) {}

  /** Starts a server on a free port; `delayMs` slows each accepted mail down (to widen races). */
  static async start(options: { delayMs?: number } = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(await freePort(), options.delayMs ?? 0);
    await smtp.resume();
    return smtp;
  }

  /** The SMTP_URL that reaches this server. */
  get url(): string {
    return `smtp://${USER}:${PASS}@127.0.0.1:${this.port}`;
  }

  /** Mails received for `to`. */
  mailsTo(to: string): ReceivedMail[] {
    return this.received.filter((m) => m.to.toLowerCase() === to.toLowerCase());
  }

  /** Starts (again) listening on the same port. */
  async resume(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      closeTimeout: 200,
      onAuth: (auth, _session, done) => {
        if (auth.username === USER && auth.password === PASS) return done(null, { user: USER });
        return done(new Error('Invalid username or password'));
      },
      // A recipient whose address starts with "bounce" is refused for good, as a real server refuses an unknown mailbox.
      onRcptTo: (address, _session, done) => {
        if (address.address.toLowerCase().startsWith('bounce')) {
          const error = new Error('No such mailbox') as Error & { responseCode: number };
          error.responseCode = 550;
          return done(error);
        }
        return done();
      },
      onData: (stream, _session, done) => {
        simpleParser(stream).then(
          async (parsed) => {
            if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
            this.received.push(toReceived(parsed));
            for (const wake of this.waiters) wake();
            done();
          },
          (error: Error) => done(error),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening (an SMTP outage); connection attempts are refused until resume(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits (up to `timeoutMs`) until `count` mails for `to` have arrived, and returns them. */
  async waitFor(to: string, count = 1, timeoutMs = 15_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mails = this.mailsTo(to);
      if (mails.length >= count) return mails;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} mail(s) for ${to}, got ${mails.length}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 250));
        this.waiters.add(wake);
      });
    }
  }
}

function toReceived(parsed: ParsedMail): ReceivedMail {
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  const text = parsed.text ?? '';
  const link = /https?:\/\/\S+/.exec(text)?.[0] ?? '';
  const token = /[?&#]token=([A-Za-z0-9_-]+)/.exec(link)?.[1] ?? '';
  return {
    to: to?.value[0]?.address ?? '',
    subject: parsed.subject ?? '',
    text,
    html: typeof parsed.html === 'string' ? parsed.html : '',
    messageId: parsed.messageId ?? '',
    token,
    link,
  };
}
