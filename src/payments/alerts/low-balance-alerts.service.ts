/**
 * Low-balance alerts: a person sets a threshold on their account (PATCH /api/me
 * {lowBalanceAlert}); when its available credit falls below it they get one email, and another
 * only after it has risen to or above the threshold and fallen again.
 *
 * The check (LowBalanceCheckJob, every LOW_BALANCE_CHECK_MS) is an outbox over the
 * low_balance_alerts table: re-arm what rose, disarm-and-mark-pending what fell (one
 * statement), then send what is pending, each leased to one sender by a short UPDATE and its
 * outcome recorded under that lease (no transaction is held open while mail is sent). A send
 * that fails is tried again after a backoff (the check interval, doubling, at most an hour), at
 * most MAX_ALERT_ATTEMPTS times, with the reason in last_error; a mail server that fails
 * several sends in a row ends that run's sending (the rest wait for the next run rather than
 * each waiting out a timeout).
 *
 * The balance compared is available plus held (credit reserved for requests still running is
 * not spent yet: counting it would mail whenever one large request's hold dips below the
 * threshold, then re-arm at its settle). The balances read model says which accounts to look
 * at, so an alert follows a fall by at most one check interval plus the read model's lag; the
 * ledger itself is read before each mail, so what a lagging read model shows is never mailed.
 * Mail sent and then a crash before its outcome is recorded is sent again once the lease ends
 * (at-least-once, like every SMTP outbox); nothing else sends twice.
 *
 * Under a restriction of processing (ledger/domain/processing-restriction.ts) an alert due is
 * dropped, not deferred: it would tell a balance of the moment, stale by the lift. It is
 * recorded as not sent (last_error `restricted`) and the row stays disarmed like a sent one,
 * so the next alert is the next fall after a rise to the threshold.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { UsersService } from '../../accounts/application/users.service';
import { LedgerService } from '../../ledger/application/ledger.service';
import { whileRestricted } from '../../ledger/domain/processing-restriction';
import { CLOCK, Clock } from '../../platform/clock';
import { Mailer, MailError } from '../../platform/mail/mailer';
import { formatCredits } from '../../shared/money';
import { LowBalanceAlertsRepository, PendingAlert, SendRecord } from './low-balance-alerts.repository';

export const MAX_ALERT_ATTEMPTS = 12;
const MAX_BACKOFF_MS = 3_600_000;
/**
 * How long a sender holds an alert: longer than the Mailer's connection, greeting and socket
 * timeouts together (40 s), so a live sender is never overtaken; a sender that crashed has its
 * alert sent again after it.
 */
const LEASE_MS = 60_000;
/** Sends tried per run at most; the rest wait for the next run. */
const SENDS_PER_RUN = 200;
/** Failures in a row after which a run stops sending (the mail server is down, not one address). */
const FAILURES_TO_STOP = 3;

export interface CheckResult {
  rearmed: number;
  fell: number;
  sent: number;
  failed: number;
}

type SendOutcome = SendRecord & { result: 'sent' | 'failed' | 'skipped' };

const RESTRICTED = 'restricted: processing of the account is restricted; the alert is dropped (a later fall after the lift alerts again)';

@Injectable()
export class LowBalanceAlerts {
  private readonly log = new Logger('LowBalanceAlerts');

  constructor(
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'PUBLIC_URL' | 'LOW_BALANCE_CHECK_MS'>,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repo: LowBalanceAlertsRepository,
    private readonly mailer: Mailer,
    private readonly users: UsersService,
    private readonly ledger: LedgerService,
  ) {}

  /** The account's threshold in µcr, or null when none is set. */
  thresholdOf(accountId: string): Promise<bigint | null> {
    return this.repo.thresholdOf(accountId);
  }

  /** Sets (µcr, 0 < threshold ≤ MAX_MICROS, checked by the caller's schema and the table) or clears (null) the threshold. */
  async set(accountId: string, userId: string, threshold: bigint | null): Promise<void> {
    if (threshold === null) await this.repo.clear(accountId);
    else await this.repo.set(accountId, userId, threshold, (await this.ledger.load(accountId)).version, this.clock.now());
  }

  /**
   * One check: re-arm, disarm what fell (marking its alert pending), send what is pending.
   * `stopping` ends the sending early (the process is shutting down: the rest wait for the next run).
   */
  async check(stopping: () => boolean = () => false): Promise<CheckResult> {
    const rearmed = await this.repo.rearm(this.clock.now());
    const fell = await this.repo.disarmBelow(this.clock.now());
    let sent = 0;
    let failed = 0;
    let inARow = 0;
    for (const accountId of await this.repo.due(this.clock.now(), MAX_ALERT_ATTEMPTS, SENDS_PER_RUN)) {
      if (stopping()) break;
      const result = await this.sendOne(accountId);
      if (result === 'sent') {
        sent += 1;
        inARow = 0;
      } else if (result === 'failed') {
        failed += 1;
        inARow += 1;
        if (inARow >= FAILURES_TO_STOP) {
          this.log.warn(`${inARow} low-balance alerts in a row could not be sent: the rest wait for the next check`);
          break;
        }
      }
    }
    return { rearmed, fell, sent, failed };
  }

  /** Leases one pending alert, sends it, records the outcome under the lease. */
  private async sendOne(accountId: string): Promise<'sent' | 'failed' | 'skipped'> {
    const token = randomUUID();
    const now = this.clock.now();
    const alert = await this.repo.claim(accountId, token, now, new Date(now.getTime() + LEASE_MS), MAX_ALERT_ATTEMPTS);
    if (!alert) return 'skipped'; // another sender has it, or it is not pending any more
    const done = await this.send(alert);
    const recorded = await this.repo.finish(accountId, token, done, this.clock.now(), MAX_ALERT_ATTEMPTS);
    if (!recorded) this.log.warn(`low-balance alert of account ${accountId}: its threshold changed while it was sent (${done.outcome})`);
    return done.result;
  }

  private async send(alert: PendingAlert): Promise<SendOutcome> {
    // The read model said when to look; the ledger says whether it is true and what the mail
    // tells. It may have moved on since the read model saw it: risen again (a top-up landing
    // after the fall), or never below at all (a threshold set just after a purchase the read
    // model had not applied yet). Then nothing is sent and the alert is armed again.
    const { state } = await this.ledger.load(alert.accountId);
    // Asked before the address is read: reading it is processing too.
    if (whileRestricted('low_balance_alert', state) === 'drop') return { outcome: 'dropped', error: RESTRICTED, result: 'skipped' };
    const balance = state.available + state.held;
    if (balance >= alert.threshold) return { outcome: 'stale', result: 'skipped' };
    let to: string | null;
    try {
      to = (await this.users.get(alert.userId)).email;
    } catch (err) {
      to = null;
      if ((err as { code?: string }).code !== 'user_not_found') throw err;
    }
    if (!to) {
      this.log.warn(`low-balance alert of account ${alert.accountId} not sent: no email address on file`);
      return { outcome: 'gave_up', error: 'no_address: the person has no email address on file', result: 'skipped' };
    }
    try {
      await this.mailer.send(lowBalanceMail(to, { balance, threshold: alert.threshold, billingUrl: `${this.config.PUBLIC_URL}/billing` }));
      return { outcome: 'sent', result: 'sent' };
    } catch (err) {
      // The Mailer's own messages name no address; anything else is reported by its code only.
      const code = err instanceof MailError ? `${err.code}: ${err.message}` : ((err as { code?: string }).code ?? 'mail_failed');
      const attempt = alert.attempts + 1;
      const last = attempt >= MAX_ALERT_ATTEMPTS;
      const backoff = Math.min(this.config.LOW_BALANCE_CHECK_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      this.log.warn(`low-balance alert of account ${alert.accountId} not sent (${code}), attempt ${attempt} of ${MAX_ALERT_ATTEMPTS}${last ? '; giving up' : ''}`);
      return { outcome: 'failed', error: `${code} (attempt ${attempt})`, retryAt: new Date(this.clock.now().getTime() + backoff), result: 'failed' };
    }
  }
}

/** The alert: the balance and the threshold in credits, and where to top up or change the alert. */
export function lowBalanceMail(to: string, a: { balance: bigint; threshold: bigint; billingUrl: string }) {
  const balance = formatCredits(a.balance);
  const threshold = formatCredits(a.threshold);
  const text = [
    `Your Tollgate balance is low: ${balance} credits left,`,
    `below the alert threshold of ${threshold} credits you set.`,
    '',
    `Add credits:  ${a.billingUrl}`,
    '',
    'Requests are refused once the balance runs out. You get this mail once each time the',
    'balance falls below the threshold; change the threshold or turn the alert off in your',
    'account settings.',
  ].join('\n');
  return { to, subject: `Low balance: ${balance} credits left (alert below ${threshold})`, text };
}
