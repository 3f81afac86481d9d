/**
 * The keys of usage days (migrations/021): one per UTC day, created on first use, destroyed by
 * the retention pass once the day is past retention (usage-retention.service.ts).
 *
 * The proxy seals with today's key on every request, so keys are cached in memory, but only
 * for days still inside retention: a cached key of a forgotten day is dropped on the next look,
 * and a key is never created for a day already forgotten (`forgotten_before`), so a late writer
 * cannot bring a day back.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { AES_KEY_BYTES } from '../../platform/crypto/aes-gcm';
import { PG_POOL, inTransaction } from '../../platform/database/pg';
import { UsageFigures } from '../../ledger/domain/events';
import { DomainError } from '../../shared/domain-error';
import { firstKeptDay, sealPart, sealUsage, utcDay } from './usage-seal';

const LOCK_NAMESPACE = 7_300_021;
const DAY_MS = 86_400_000; // advisory lock: key creation vs the retention pass

export class UsageRetentionError extends DomainError<'usage_day_forgotten'> {
  override readonly name = 'UsageRetentionError';
}

@Injectable()
export class UsageDayKeys {
  private readonly cache = new Map<string, Promise<Buffer>>();
  /**
   * Today's day and the first day still kept, worked out once a day rather than twice per
   * request (formatting dates was a few percent of the proxy's CPU). Valid strictly inside the
   * day: at its very first millisecond the first kept day is one earlier (see firstKeptDay).
   */
  private today: { from: number; until: number; day: string; firstKept: string } | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'USAGE_RETENTION_DAYS'>,
  ) {}

  /** The hold's usage figures sealed with today's key. */
  async sealUsage(holdId: string, usage: UsageFigures): Promise<string> {
    const { day, firstKept } = this.days();
    return sealUsage(await this.keyOf(day, firstKept), day, holdId, usage);
  }

  /** The API key id of a hold, sealed with today's key (the key on a hold is usage metadata). */
  async sealKeyId(holdId: string, keyId: string): Promise<string> {
    const { day, firstKept } = this.days();
    return sealPart(await this.keyOf(day, firstKept), day, 'key', holdId, keyId);
  }

  /** Drops cached keys of days no longer inside retention (the pass calls it after destroying them). */
  forgetCachedBefore(day: string): void {
    for (const d of this.cache.keys()) if (d < day) this.cache.delete(d);
  }

  private days(): { day: string; firstKept: string } {
    const now = this.clock.now();
    const ms = now.getTime();
    const t = this.today;
    if (t && ms > t.from && ms < t.until) return t;
    const day = utcDay(now);
    const from = Date.parse(`${day}T00:00:00.000Z`);
    this.today = { from, until: from + DAY_MS, day, firstKept: firstKeptDay(now, this.config.USAGE_RETENTION_DAYS) };
    return this.today;
  }

  private keyOf(day: string, firstKept: string): Promise<Buffer> {
    this.forgetCachedBefore(firstKept);
    let key = this.cache.get(day);
    if (!key) {
      key = this.loadOrCreate(day);
      this.cache.set(day, key);
      // A failure (Postgres away) is not remembered: the next request asks again.
      key.catch(() => this.cache.delete(day));
    }
    return key;
  }

  private async loadOrCreate(day: string): Promise<Buffer> {
    const found = await this.pool.query<{ key: Buffer }>('SELECT key FROM usage_day_keys WHERE day = $1', [day]);
    if (found.rows[0]) return found.rows[0].key;
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_NAMESPACE]);
      const { rows } = await client.query<{ forgotten_before: string | null }>(
        `SELECT to_char(forgotten_before, 'YYYY-MM-DD') AS forgotten_before FROM usage_retention WHERE id = 1`,
      );
      const before = rows[0]?.forgotten_before;
      if (before && day < before) throw new UsageRetentionError('usage_day_forgotten', `usage of ${day} is past retention: its key is gone`);
      await client.query('INSERT INTO usage_day_keys (day, key) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING', [day, randomBytes(AES_KEY_BYTES)]);
      const made = await client.query<{ key: Buffer }>('SELECT key FROM usage_day_keys WHERE day = $1', [day]);
      return made.rows[0].key;
    });
  }
}

export const USAGE_DAY_KEYS_LOCK = LOCK_NAMESPACE;
