/**
 * Closing usage days: once a UTC day is over (and CLOSE_GRACE_MS more, so settles in flight at
 * midnight have landed), its aggregates per account, model and key are written as plaintext
 * UsageDayClosed events (usage-day-closed.ts), before retention destroys the day's key.
 *
 * The figures are the daily-usage and key-spend read models' rows of the day, taken only when
 * both have applied the whole log as it stands (the day's events all lie below its head): what
 * those rows say is what the day's sealed events said. Read models behind (or halted) leave the
 * day for the next pass. Each event's id derives from account and day, so a pass run twice, or
 * by two workers at once, writes each day once.
 */
import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { ACCOUNT_STREAM_PREFIX } from '../../ledger/domain/events';
import { EventStore, comparePositions } from '../../platform/event-store/event-store.port';
import { KeyDay, ModelDay, USAGE_DAY_CLOSED, encodeUsageDayClosed, usageDayClosedId, usageDayStream } from './usage-day-closed';
import { addDays, utcDay } from './usage-seal';

/** After midnight, how long a day stays open for the settles that were in flight. */
export const CLOSE_GRACE_MS = 10 * 60_000;

// The read models the aggregates come from (projections/daily-usage, projections/key-spend).
const DAILY_USAGE = 'rm_daily_usage';
const KEY_SPEND = 'rm_key_spend';

export interface CloseOutcome {
  /** Days closed by this pass. */
  closed: string[];
  /** Why no (further) day could be closed, when one was due. */
  blocked: string | null;
}

export class UsageDayCloser {
  private readonly log = new Logger('UsageDayClose');

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  /** Closes every day due at `now` not closed yet, oldest first. */
  async closeDue(now: Date): Promise<CloseOutcome> {
    const lastDue = addDays(utcDay(new Date(now.getTime() - CLOSE_GRACE_MS)), -1);
    const { rows } = await this.pool.query<{ closed_through: string | null }>(
      `SELECT to_char(closed_through, 'YYYY-MM-DD') AS closed_through FROM usage_retention WHERE id = 1`,
    );
    const closedThrough = rows[0]?.closed_through ?? null;
    if (closedThrough !== null && closedThrough >= lastDue) return { closed: [], blocked: null };

    const behind = await this.readModelsBehind();
    if (behind) return { closed: [], blocked: behind };

    const days = await this.daysWithUsage(closedThrough, lastDue);
    const closed: string[] = [];
    for (const day of days) {
      await this.closeDay(day, now);
      closed.push(day);
    }
    await this.pool.query('UPDATE usage_retention SET closed_through = GREATEST(closed_through, $1::date) WHERE id = 1', [lastDue]);
    return { closed, blocked: null };
  }

  /** Null when both read models have applied the log up to its head; else why not. */
  private async readModelsBehind(): Promise<string | null> {
    const head = await this.store.headPosition([ACCOUNT_STREAM_PREFIX]);
    for (const schema of [DAILY_USAGE, KEY_SPEND]) {
      let at: { log_tx: string; log_seq: string; halted: boolean } | undefined;
      try {
        const { rows } = await this.pool.query<{ log_tx: string; log_seq: string; halted: boolean }>(
          `SELECT log_tx::text, log_seq::text, halted_at IS NOT NULL AS halted FROM ${schema}.checkpoint`,
        );
        at = rows[0];
      } catch (err) {
        if ((err as { code?: string }).code === '42P01') return `read model ${schema} does not exist yet`;
        throw err;
      }
      if (!at) return `read model ${schema} has no checkpoint`;
      if (at.halted) return `read model ${schema} is halted (tollgate ledger replay)`;
      if (comparePositions({ tx: BigInt(at.log_tx), seq: BigInt(at.log_seq) }, head) < 0) return `read model ${schema} is behind the log`;
    }
    return null;
  }

  private async daysWithUsage(after: string | null, through: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ day: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day FROM (
         SELECT day FROM ${DAILY_USAGE}.daily_usage WHERE ($1::date IS NULL OR day > $1::date) AND day <= $2::date
         UNION SELECT day FROM ${KEY_SPEND}.key_spend WHERE ($1::date IS NULL OR day > $1::date) AND day <= $2::date
       ) d ORDER BY day`,
      [after, through],
    );
    return rows.map((r) => r.day);
  }

  private async closeDay(day: string, now: Date): Promise<void> {
    const models = await this.pool.query<{
      account_id: string;
      model: string;
      requests: string;
      input_tokens: string;
      output_tokens: string;
      cached_tokens: string;
      cost: string;
      estimated_requests: string;
    }>(
      `SELECT account_id, model, requests::text, input_tokens::text, output_tokens::text, cached_tokens::text, cost::text, estimated_requests::text
         FROM ${DAILY_USAGE}.daily_usage WHERE day = $1::date`,
      [day],
    );
    const keys = await this.pool.query<{ account_id: string; key_id: string; spent: string; requests: string }>(
      `SELECT account_id, key_id, spent::text, requests::text FROM ${KEY_SPEND}.key_spend WHERE day = $1::date`,
      [day],
    );
    const accounts = new Map<string, { byModel: ModelDay[]; byKey: KeyDay[] }>();
    const of = (id: string) => {
      let a = accounts.get(id);
      if (!a) accounts.set(id, (a = { byModel: [], byKey: [] }));
      return a;
    };
    for (const r of models.rows) {
      of(r.account_id).byModel.push({
        model: r.model,
        requests: BigInt(r.requests),
        inputTokens: BigInt(r.input_tokens),
        outputTokens: BigInt(r.output_tokens),
        cachedTokens: BigInt(r.cached_tokens),
        cost: BigInt(r.cost),
        estimatedRequests: BigInt(r.estimated_requests),
      });
    }
    for (const r of keys.rows) of(r.account_id).byKey.push({ keyId: r.key_id, spent: BigInt(r.spent), requests: BigInt(r.requests) });

    for (const [accountId, figures] of accounts) {
      const data = encodeUsageDayClosed({ accountId, day, ...figures });
      await this.store.append(
        usageDayStream(accountId, day),
        [{ id: usageDayClosedId(accountId, day), type: USAGE_DAY_CLOSED, data, metadata: { occurredAt: now.toISOString() } }],
        { expectedVersion: 'any' },
      );
    }
    if (accounts.size) this.log.log(`closed usage day ${day}: aggregates of ${accounts.size} account(s) written`);
  }
}
