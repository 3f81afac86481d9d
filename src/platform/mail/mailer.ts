/**
 * Sends the gateway's mail (sign-in links now, receipts later). Three ways, chosen once at start
 * from the configuration and said in one log line:
 * - SMTP_URL set: SMTP through nodemailer, from MAIL_FROM;
 * - no SMTP_URL outside production: the development outbox (outbox.ts), nothing leaves the machine;
 * - no SMTP_URL in production: a warning at start, and every send refuses with
 *   `mail_not_configured` (a sign-in link that silently goes nowhere would be worse).
 * A body carries a sign-in link, so neither a body nor a recipient is ever logged, and a send
 * failure is reported by nodemailer's error code only (its message may quote the address).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type * as Nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { DomainError } from '../../shared/domain-error';
import { CLOCK, Clock } from '../clock';
import { Outbox } from './outbox';
import { onFirstUse } from '../on-first-use';

// Loaded when SMTP is configured (platform/on-first-use.ts): a process that sends no mail never loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodemailer = onFirstUse(() => require('nodemailer') as typeof Nodemailer);

export type MailSettings = Pick<AppConfig, 'NODE_ENV' | 'SMTP_URL' | 'MAIL_FROM' | 'MAIL_OUTBOX_DIR'>;

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** Self-contained HTML (no remote images or styles); optional. */
  html?: string;
  /** A stable Message-ID (`<id@host>`) for a message that may be sent again (breach notices); else nodemailer makes one. */
  messageId?: string;
  /**
   * One of many sent in a row (breach notices): over a pool of kept-open SMTP connections instead
   * of a connection per message, which is what a fan-out of thousands spends its time on.
   */
  bulk?: boolean;
}

export type MailTransportKind = 'smtp' | 'outbox' | 'none';

export class MailError extends DomainError<'mail_not_configured' | 'mail_failed' | 'invalid_recipient', { reason?: string }> {
  override readonly name = 'MailError';
}

// A mail server that does not answer must not hold a request for nodemailer's default minutes.
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;
// Bulk mail: connections kept open at once, and messages each carries before it is renewed.
const BULK_CONNECTIONS = 16;
const BULK_MESSAGES_PER_CONNECTION = 1000;

const PLAIN_ADDRESS = /^[^\s@<>,;:"()[\]\\]{1,64}@[^\s@<>,;:"()[\]\\]{1,255}$/;

@Injectable()
export class Mailer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Mailer');
  readonly transport: MailTransportKind;
  private readonly smtp: Transporter | null = null;
  private pooled: Transporter | null = null;
  private readonly outbox: Outbox | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: MailSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    if (config.SMTP_URL) {
      this.transport = 'smtp';
      this.smtp = nodemailer().createTransport({
        url: config.SMTP_URL,
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        greetingTimeout: GREETING_TIMEOUT_MS,
        socketTimeout: SOCKET_TIMEOUT_MS,
      });
    } else if (config.NODE_ENV !== 'production') {
      this.transport = 'outbox';
      this.outbox = new Outbox(config.MAIL_OUTBOX_DIR);
    } else {
      this.transport = 'none';
    }
  }

  onApplicationBootstrap(): void {
    if (this.transport === 'smtp') {
      // The host only: the URL may carry the server's credentials.
      this.log.log(`mail is sent over SMTP through ${new URL(this.config.SMTP_URL!).host}`);
    } else if (this.transport === 'outbox') {
      this.log.warn(
        `mail is not sent: SMTP_URL is unset, so messages are written to ${this.config.MAIL_OUTBOX_DIR} ` +
          '(`tollgate mail outbox` lists them; they are deleted after 24 hours)',
      );
    } else {
      this.log.warn('mail cannot be sent: SMTP_URL is unset in production, so sign-in links by mail are refused (503 mail_not_configured)');
    }
  }

  onModuleDestroy(): void {
    this.smtp?.close();
    this.pooled?.close();
  }

  private bulkTransport(): Transporter {
    this.pooled ??= nodemailer().createTransport({
      url: this.config.SMTP_URL!,
      pool: true,
      maxConnections: BULK_CONNECTIONS,
      maxMessages: BULK_MESSAGES_PER_CONNECTION,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: GREETING_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
    });
    return this.pooled;
  }

  async send(message: MailMessage): Promise<void> {
    // One plain address: callers validate theirs, and a list or a header smuggled in here
    // would mail someone else a sign-in link.
    if (!PLAIN_ADDRESS.test(message.to)) throw new MailError('invalid_recipient', 'a message goes to exactly one plain email address');
    if (this.outbox) {
      await this.outbox.write(
        { from: this.config.MAIL_FROM, to: message.to, subject: message.subject, text: message.text, html: message.html ?? null },
        this.clock.now(),
      );
      return;
    }
    if (!this.smtp) throw new MailError('mail_not_configured', 'mail is not configured on this gateway (SMTP_URL is unset)');
    try {
      const transport = message.bulk ? this.bulkTransport() : this.smtp;
      await transport.sendMail({ from: this.config.MAIL_FROM, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId });
    } catch (err) {
      const e = err as { code?: unknown; responseCode?: unknown };
      const reason = [e.code, e.responseCode].filter((v) => typeof v === 'string' || typeof v === 'number').join(' ') || 'unknown';
      throw new MailError('mail_failed', `the mail server did not take the message (${reason})`, { reason });
    }
  }
}
