/**
 * How read models read sealed usage (usage-seal.ts): the keys of the days a page names are
 * loaded once per page (`load`, on the projector's own connection), then each event is opened
 * without I/O. A day whose key is gone reads as nothing: its figures come from the day's closed
 * aggregates instead (usage-day-close.ts), which is what makes a replay after retention
 * rebuild the same rows.
 *
 * A read model keeps one for as long as it runs: what it learnt of a day stays true (a key never
 * changes, and a day whose key is gone never gets one again), so only the first page of a day
 * asks Postgres. Bounded: past MAX_DAYS remembered, it starts afresh.
 */
import { PoolClient } from 'pg';
import { LedgerEvent, UsageFigures } from '../../ledger/domain/events';
import { openPart, openUsage, sealedDay } from './usage-seal';

const MAX_DAYS = 400;

export class UsageUnsealer {
  private readonly keys = new Map<string, Buffer | null>();

  /** Loads the keys of the days the events' sealed values name (once per day). */
  async load(client: Pick<PoolClient, 'query'>, events: Iterable<LedgerEvent>): Promise<void> {
    const wanted = new Set<string>();
    for (const e of events) {
      const day = sealedDay(sealedOf(e));
      if (day && !this.keys.has(day)) wanted.add(day);
    }
    if (wanted.size === 0) return;
    if (this.keys.size + wanted.size > MAX_DAYS) this.keys.clear();
    const { rows } = await client.query<{ day: string; key: Buffer }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, key FROM public.usage_day_keys WHERE day = ANY($1::date[])`,
      [[...wanted]],
    );
    for (const d of wanted) this.keys.set(d, null);
    for (const r of rows) this.keys.set(r.day, r.key);
  }

  /** Usage of a settle: plaintext (events from before sealing), opened, or null (none, or its day forgotten). */
  usageOf(e: Extract<LedgerEvent, { type: 'HoldSettled' | 'HoldSettledLate' }>): UsageFigures | null {
    if (e.data.usage) return e.data.usage;
    const key = this.keyFor(e.data.sealedUsage);
    return key && e.data.sealedUsage ? openUsage(key, e.data.sealedUsage, e.data.holdId) : null;
  }

  /** The API key of a hold: plaintext, opened, or undefined (none, or its day forgotten). */
  keyIdOf(e: Extract<LedgerEvent, { type: 'HoldPlaced' }>): string | undefined {
    if (e.data.keyId !== undefined) return e.data.keyId;
    const key = this.keyFor(e.data.sealedKeyId);
    return key && e.data.sealedKeyId ? openPart(key, e.data.sealedKeyId, 'key', e.data.holdId) : undefined;
  }

  /** Whether the event carries a sealed value whose day's key is gone. */
  forgotten(e: LedgerEvent): boolean {
    const value = sealedOf(e);
    return value !== undefined && this.keyFor(value) === null;
  }

  private keyFor(value: string | undefined): Buffer | null {
    const day = sealedDay(value);
    if (!day) return null;
    const key = this.keys.get(day);
    if (key === undefined) throw new Error(`the key of usage day ${day} was not loaded (call load first)`);
    return key;
  }
}

function sealedOf(e: LedgerEvent): string | undefined {
  if (e.type === 'HoldSettled' || e.type === 'HoldSettledLate') return e.data.sealedUsage;
  if (e.type === 'HoldPlaced') return e.data.sealedKeyId;
  return undefined;
}
