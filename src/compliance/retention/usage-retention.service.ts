/**
 * The retention pass: past USAGE_RETENTION_DAYS, per-request usage metadata is unreadable
 * everywhere. It first closes the days that are over (their aggregates written as plaintext
 * events, usage-day-close.ts), then deletes request log rows older than retention (the usage_by_model and
 * usage_by_key rollups beside it are daily aggregates: they stay), destroys the keys of days
 * past retention (the sealed copies inside ledger events become noise, the events stay), and
 * runs the hooks other parts register for what they keep only for a while (expired exports).
 * Expired sessions and sign-in links have purge jobs of their own (auth/).
 *
 * Idempotent: a second pass at the same instant finds nothing to do. The last pass is recorded
 * in Postgres, so a worker that was down runs the missed one as soon as it is back.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { PG_POOL, inTransaction } from '../../platform/database/pg';
import { EVENT_STORE, EventStore } from '../../platform/event-store/event-store.port';
import { UsageDayCloser } from './usage-day-close';
import { USAGE_DAY_KEYS_LOCK, UsageDayKeys } from './usage-day-keys';
import { firstKeptDay, retentionCutoff } from './usage-seal';

/** Rows deleted per statement: a big backlog never holds one long lock on the request log. */
const DELETE_BATCH = 5_000;

/** Something another part keeps for a while and deletes in the retention pass (e.g. expired exports). */
export interface RetentionHook {
  name: string;
  /** Deletes what expired by `now`; returns how many things it deleted. */
  run(now: Date): Promise<number>;
}

export interface RetentionRun {
  at: string;
  retentionDays: number;
  /** Request log rows started before this instant were deleted. */
  cutoff: string;
  /** Days before this one are forgotten: their keys are gone. */
  forgottenBefore: string;
  /** Days whose aggregates this pass wrote as UsageDayClosed events. */
  daysClosed: string[];
  /** Why days due to close were not (read models behind or halted): they close at a later pass. */
  closeBlocked: string | null;
  requestLogRows: number;
  /** Rows of the key-spend read model naming the API key of a hold placed before retention (never settled). */
  keyHoldRows: number;
  dayKeysDestroyed: string[];
  hooks: Record<string, number>;
}

export interface RetentionStatus {
  retentionDays: number;
  /** The oldest request log row still readable (null when the log is empty). */
  oldestRequestLog: string | null;
  /** The oldest day whose sealed usage can still be opened (null when no key is held). */
  oldestReadableDay: string | null;
  dayKeysHeld: number;
  forgottenBefore: string | null;
  /** The last day whose aggregates were written as events. */
  closedThrough: string | null;
  lastRunAt: string | null;
  lastRun: RetentionRun | null;
  /** When the scheduled pass runs next (from the last run; now when overdue). */
  nextRunAt: string;
  overdue: boolean;
}

@Injectable()
export class UsageRetentionService {
  private readonly log = new Logger('UsageRetention');
  private readonly hooks: RetentionHook[] = [];
  private readonly closer: UsageDayCloser;
  /** One pass at a time in a process (the catch-up at start and a scheduled run may meet); workers apart are safe anyway. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'USAGE_RETENTION_DAYS' | 'USAGE_RETENTION_EVERY_MS'>,
    private readonly dayKeys: UsageDayKeys,
  ) {
    this.closer = new UsageDayCloser(pool, store);
  }

  /** Other parts register what the pass must also delete (called from their module's init). */
  register(hook: RetentionHook): void {
    if (!this.hooks.some((h) => h.name === hook.name)) this.hooks.push(hook);
  }

  run(onProgress?: (deleted: number) => void): Promise<RetentionRun> {
    const next = this.queue.then(
      () => this.runOnce(onProgress),
      () => this.runOnce(onProgress),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runOnce(onProgress?: (deleted: number) => void): Promise<RetentionRun> {
    const now = this.clock.now();
    const days = this.config.USAGE_RETENTION_DAYS;
    const cutoff = retentionCutoff(now, days);
    const forgottenBefore = firstKeptDay(now, days);

    // Before any key goes: a day's aggregates are taken from its sealed events while they open.
    const close = await this.closer.closeDue(now);
    if (close.blocked) this.log.warn(`usage days due to close were not closed: ${close.blocked}; the next pass tries again`);

    let requestLogRows = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `DELETE FROM request_log WHERE request_id IN (SELECT request_id FROM request_log WHERE started_at < $1 LIMIT ${DELETE_BATCH})`,
        [cutoff],
      );
      requestLogRows += rowCount ?? 0;
      onProgress?.(requestLogRows);
      if ((rowCount ?? 0) < DELETE_BATCH) break;
    }

    const dayKeysDestroyed = await inTransaction(this.pool, async (client) => {
      // The same lock as key creation: a key cannot be made for a day this pass forgets.
      await client.query('SELECT pg_advisory_xact_lock($1)', [USAGE_DAY_KEYS_LOCK]);
      await client.query('UPDATE usage_retention SET forgotten_before = GREATEST(forgotten_before, $1::date) WHERE id = 1', [forgottenBefore]);
      const { rows } = await client.query<{ day: string }>(
        `DELETE FROM usage_day_keys WHERE day < $1::date RETURNING to_char(day, 'YYYY-MM-DD') AS day`,
        [forgottenBefore],
      );
      return rows.map((r) => r.day).sort();
    });
    this.dayKeys.forgetCachedBefore(forgottenBefore);
    const keyHoldRows = await this.deleteKeyHoldsBefore(forgottenBefore);

    const hooks: Record<string, number> = {};
    for (const hook of this.hooks) {
      // One hook failing does not stop the others; the pass fails at the end, so it is seen.
      try {
        hooks[hook.name] = await hook.run(now);
      } catch (err) {
        hooks[hook.name] = -1;
        this.log.error(`retention hook ${hook.name} failed: ${(err as Error).message}`);
      }
    }

    const run: RetentionRun = {
      at: now.toISOString(),
      retentionDays: days,
      cutoff: cutoff.toISOString(),
      forgottenBefore,
      daysClosed: close.closed,
      closeBlocked: close.blocked,
      requestLogRows,
      keyHoldRows,
      dayKeysDestroyed,
      hooks,
    };
    await this.pool.query('UPDATE usage_retention SET last_run_at = $1, last_run = $2 WHERE id = 1', [now, JSON.stringify(run)]);
    if (requestLogRows || dayKeysDestroyed.length) {
      this.log.log(`retention: deleted ${requestLogRows} request log row(s), destroyed the usage keys of ${dayKeysDestroyed.length} day(s)`);
    }
    const failed = Object.entries(hooks).filter(([, n]) => n < 0);
    if (failed.length) throw new Error(`retention hook(s) failed: ${failed.map(([name]) => name).join(', ')}`);
    return run;
  }

  /**
   * The key-spend read model keeps the API key of each hold until it is settled or voided (an
   * expired hold's late settle may still come): a hold placed before retention that never was
   * has its row deleted here. A replay would not make it again: its sealed key no longer opens.
   */
  private async deleteKeyHoldsBefore(day: string): Promise<number> {
    try {
      const { rowCount } = await this.pool.query('DELETE FROM rm_key_spend.key_holds WHERE placed_on < $1::date', [day]);
      return rowCount ?? 0;
    } catch (err) {
      // No read models yet, or not yet rebuilt with the column (the runner does at its start): next pass.
      if (['42P01', '42703'].includes((err as { code?: string }).code ?? '')) return 0;
      throw err;
    }
  }

  /** Whether the last pass is older than one period (or there was none): a worker starting runs it at once. */
  async overdue(): Promise<boolean> {
    return (await this.status()).overdue;
  }

  async status(): Promise<RetentionStatus> {
    const now = this.clock.now();
    const [state, log, keys] = await Promise.all([
      this.pool.query<{ forgotten_before: string | null; closed_through: string | null; last_run_at: Date | null; last_run: RetentionRun | null }>(
        `SELECT to_char(forgotten_before, 'YYYY-MM-DD') AS forgotten_before, to_char(closed_through, 'YYYY-MM-DD') AS closed_through,
                last_run_at, last_run
           FROM usage_retention WHERE id = 1`,
      ),
      this.pool.query<{ oldest: Date | null }>('SELECT min(started_at) AS oldest FROM request_log'),
      this.pool.query<{ held: string; oldest: string | null }>(
        `SELECT count(*)::text AS held, to_char(min(day), 'YYYY-MM-DD') AS oldest FROM usage_day_keys`,
      ),
    ]);
    const s = state.rows[0];
    const lastRunAt = s?.last_run_at ?? null;
    const next = lastRunAt ? new Date(lastRunAt.getTime() + this.config.USAGE_RETENTION_EVERY_MS) : now;
    const overdue = next.getTime() <= now.getTime();
    return {
      retentionDays: this.config.USAGE_RETENTION_DAYS,
      oldestRequestLog: log.rows[0]?.oldest?.toISOString() ?? null,
      oldestReadableDay: keys.rows[0]?.oldest ?? null,
      dayKeysHeld: Number(keys.rows[0]?.held ?? 0),
      forgottenBefore: s?.forgotten_before ?? null,
      closedThrough: s?.closed_through ?? null,
      lastRunAt: lastRunAt?.toISOString() ?? null,
      lastRun: s?.last_run ?? null,
      nextRunAt: (overdue ? now : next).toISOString(),
      overdue,
    };
  }
}
