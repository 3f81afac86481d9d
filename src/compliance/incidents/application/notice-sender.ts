/**
 * Sends the breach notices that are due, from incident_notices (the worker's job calls sendDue).
 *
 * Per notice: claim the row for a lease (one sender per notice across processes), look up the
 * person's address (their vault key opens it; an erased person has none: given up, `no_address`),
 * send through the Mailer with the notice's stable Message-ID, then record: first the row (one
 * UPDATE right after the SMTP server's acceptance), then the NoticeSent / NoticeFailed event on
 * the incident stream (a batch at a time; a row whose event is missing after a crash is recorded
 * by the next run, with the same event id).
 *
 * Duplicates: SMTP has no idempotency key. A sender killed after the server accepted a notice and
 * before the row says so leaves a claim that lapses; the notice is then sent again (same
 * Message-ID). So a kill costs at most the notices in flight at that moment, never a missing one.
 *
 * A person under a restriction of processing is notified all the same: a breach notice is a legal
 * duty (ledger/domain/processing-restriction.ts, `breach_notice`: allow).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UsersService } from '../../../accounts/application/users.service';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, NewEvent } from '../../../platform/event-store/event-store.port';
import { Mailer } from '../../../platform/mail/mailer';
import { deterministicId } from '../../../shared/ids';
import { IncidentEvent, IncidentFacts, incidentStream } from '../domain/incident';
import { NoticeText, noticeMessageId, noticeText } from '../domain/incident-notice';
import { ClaimedNotice, IncidentsRepository, UnrecordedNotice } from './incidents.repository';

/** Attempts before a notice is given up (with the default 60 s first retry, about 2 hours in all). */
export const MAX_NOTICE_ATTEMPTS = 8;
const MAX_RETRY_SECONDS = 3600;
/**
 * A sender runs LOOPS claim → send → record loops side by side (so one loop's wait for the last
 * send of its batch does not idle the mail connections), each with LANES sends under way.
 */
const LOOPS = 2;
const BATCH = 64;
const LANES = 16;

export const SENDER_ACTOR = 'system:incident-notices';

type Outcome = { n: ClaimedNotice; event: IncidentEvent };

export interface SendResult {
  sent: number;
  failed: number;
}

export type IncidentNoticeSettings = Pick<AppConfig, 'INCIDENT_NOTICE_LEASE_SECONDS' | 'INCIDENT_NOTICE_RETRY_SECONDS' | 'PUBLIC_URL'>;

@Injectable()
export class NoticeSender {
  private readonly log = new Logger('IncidentNotices');
  private readonly texts = new Map<string, NoticeText>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: IncidentNoticeSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly rows: IncidentsRepository,
    private readonly users: UsersService,
    private readonly mailer: Mailer,
  ) {}

  /** Sends everything due now, batch after batch, until nothing is due or `stopping()` says so. */
  async sendDue(stopping: () => boolean = () => false): Promise<SendResult> {
    const result: SendResult = { sent: 0, failed: 0 };
    await this.recordLeftovers();
    await Promise.all(Array.from({ length: LOOPS }, () => this.loop(result, stopping)));
    return result;
  }

  private async loop(result: SendResult, stopping: () => boolean): Promise<void> {
    while (!stopping()) {
      const claimed = await this.rows.claimDue(BATCH, this.config.INCIDENT_NOTICE_LEASE_SECONDS);
      if (claimed.length === 0) return;
      const outcomes: Outcome[] = [];
      await eachLimited(claimed, LANES, async (n) => {
        try {
          const o = await this.sendOne(n);
          outcomes.push(o);
          if (o.event.type === 'NoticeSent') result.sent++;
          else result.failed++;
        } catch (err) {
          // A store failed around the send: the claim lapses and the notice is tried again.
          this.log.warn(`a notice of incident ${n.incidentId} is left to a later run: ${codeOf(err)}`);
        }
      });
      await this.record(outcomes);
    }
  }

  private async sendOne(n: ClaimedNotice): Promise<Outcome> {
    const text = await this.textOf(n.incidentId);
    const messageId = noticeMessageId(n.incidentId, n.userId, new URL(this.config.PUBLIC_URL).hostname);
    let to: string | null = null;
    try {
      to = (await this.users.get(n.userId)).email;
    } catch (err) {
      if ((err as { code?: string }).code !== 'user_not_found') return this.failed(n, codeOf(err));
    }
    if (!to) return this.failed(n, 'no_address', true); // erased, or never had one: waiting changes nothing
    try {
      await this.mailer.send({ to, subject: text.subject, text: text.text, messageId, bulk: true });
    } catch (err) {
      return this.failed(n, codeOf(err));
    }
    const at = this.clock.now();
    await this.rows.markSent(n, at);
    return { n, event: { type: 'NoticeSent', data: { incidentId: n.incidentId, userId: n.userId, messageId, attempt: n.attempts, at: at.toISOString() } } };
  }

  private async failed(n: ClaimedNotice, error: string, giveUp = false): Promise<Outcome> {
    const final = giveUp || n.attempts >= MAX_NOTICE_ATTEMPTS;
    const retryAfter = Math.min(this.config.INCIDENT_NOTICE_RETRY_SECONDS * 2 ** (n.attempts - 1), MAX_RETRY_SECONDS);
    await this.rows.markFailed(n, error, final, retryAfter);
    if (final) this.log.warn(`a notice of incident ${n.incidentId} was given up after ${n.attempts} attempt(s): ${error}`);
    return { n, event: failedEvent(n.incidentId, n.userId, n.attempts, error, final, n.at) };
  }

  /** The outcomes as events on their incidents' streams (any version: facts, not decisions), then the rows say so. */
  private async record(outcomes: Outcome[]): Promise<void> {
    const byIncident = new Map<string, Outcome[]>();
    for (const o of outcomes) byIncident.set(o.n.incidentId, [...(byIncident.get(o.n.incidentId) ?? []), o]);
    for (const [incidentId, list] of byIncident) {
      const events: NewEvent[] = list.map((o) => ({
        id: outcomeEventId(o.event),
        type: o.event.type,
        data: { ...o.event.data },
        metadata: { occurredAt: o.event.data.at, actor: SENDER_ACTOR },
      }));
      await this.appendFacts(incidentStream(incidentId), events);
      await this.rows.markRecorded(incidentId, list.map((o) => ({ userId: o.n.userId, attempts: o.n.attempts })));
    }
  }

  /**
   * Appends outcome events (facts, any version). The store refuses whole a batch only part of
   * which is in the log already, and leftovers can be such a batch: the rows of a sender killed
   * between its append and marking them recorded come back beside rows whose events were never
   * written. Then the events go one by one: each is either there already (the same: nothing
   * happens) or new. An id stored with a different payload still fails, loudly.
   */
  private async appendFacts(stream: string, events: NewEvent[]): Promise<void> {
    try {
      await this.store.append(stream, events, { expectedVersion: 'any' });
    } catch (err) {
      if (!(err instanceof EventIdConflictError) || events.length === 1) throw err;
      for (const e of events) await this.store.append(stream, [e], { expectedVersion: 'any' });
    }
  }

  /** Rows a crash left without their event (sent or failed, not yet in the log): recorded now, with the ids they would have had. */
  async recordLeftovers(): Promise<number> {
    let total = 0;
    for (;;) {
      const left = await this.rows.unrecorded(500);
      if (left.length === 0) return total;
      const outcomes = left.map((r) => ({ n: { incidentId: r.incidentId, userId: r.userId, attempts: r.attempts, at: r.lastAttemptAt ?? new Date(0) }, event: this.leftoverEvent(r) }));
      await this.record(outcomes);
      total += left.length;
    }
  }

  private leftoverEvent(r: UnrecordedNotice): IncidentEvent {
    if (r.sentAt) {
      const messageId = noticeMessageId(r.incidentId, r.userId, new URL(this.config.PUBLIC_URL).hostname);
      return { type: 'NoticeSent', data: { incidentId: r.incidentId, userId: r.userId, messageId, attempt: r.attempts, at: r.sentAt.toISOString() } };
    }
    return failedEvent(r.incidentId, r.userId, r.attempts, r.lastError ?? 'unknown', r.failedAt !== null, r.lastAttemptAt ?? new Date(0));
  }

  /** The notice's text, from the incident's first event (its facts never change). */
  private async textOf(incidentId: string): Promise<NoticeText> {
    const known = this.texts.get(incidentId);
    if (known) return known;
    const [opened] = await this.store.readStream(incidentStream(incidentId), { limit: 1 });
    if (opened?.type !== 'IncidentOpened') throw new Error(`incident ${incidentId} has no IncidentOpened event`);
    const text = noticeText((opened.data as { facts: IncidentFacts }).facts);
    this.texts.set(incidentId, text);
    return text;
  }
}

function failedEvent(incidentId: string, userId: string, attempt: number, error: string, final: boolean, at: Date): IncidentEvent {
  return { type: 'NoticeFailed', data: { incidentId, userId, attempt, error: error.slice(0, 200), final, at: at.toISOString() } };
}

/** One id per notice outcome: sent once per person; failed once per person and attempt. */
function outcomeEventId(e: IncidentEvent): string {
  if (e.type === 'NoticeSent') return deterministicId(`incident:${e.data.incidentId}:notice:${e.data.userId}:sent`);
  if (e.type === 'NoticeFailed') return deterministicId(`incident:${e.data.incidentId}:notice:${e.data.userId}:failed:${e.data.attempt}`);
  throw new Error(`not a notice outcome: ${e.type}`);
}

/** A mail error's code (its message may quote the address, which must not reach the table or a log). */
function codeOf(err: unknown): string {
  const e = err as { code?: unknown; details?: { reason?: unknown }; name?: unknown };
  const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'error';
  const reason = typeof e.details?.reason === 'string' ? ` ${e.details.reason}` : '';
  return `${code}${reason}`.slice(0, 200);
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
