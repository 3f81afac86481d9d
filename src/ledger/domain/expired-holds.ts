/**
 * The holds of one account that expired recently: what a late settle is checked against.
 *
 * An immutable value, as the rest of the account state: evolve() returns a new one and never
 * changes the old (the ledger service decides a group on a working state it may throw away).
 * Copying a map of thousands of holds on every expiry cost a millisecond each, so changes
 * collect in a small `recent` map over a shared `base` that is never modified, and are folded
 * into a new base every COMPACT_EVERY changes: an expiry costs O(size / COMPACT_EVERY).
 *
 * Bounded: at each fold, holds that expired more than `windowMs` before the latest expiry are
 * forgotten, and the earliest beyond `max` (so the count can pass `max` by COMPACT_EVERY).
 */
import { Micros } from '../../shared/money';

export interface ExpiredHold {
  amount: Micros;
  expiresAt: string;
}

const COMPACT_EVERY = 64;

export class ExpiredHolds {
  static empty(windowMs: number, max: number): ExpiredHolds {
    return new ExpiredHolds(new Map(), new Map(), 0, Number.NEGATIVE_INFINITY, windowMs, max);
  }

  private constructor(
    private readonly base: ReadonlyMap<string, ExpiredHold>,
    /** Changes since the base was folded: a hold added, or null for one removed. */
    private readonly recent: ReadonlyMap<string, ExpiredHold | null>,
    readonly size: number,
    /** The latest expiry seen (ms): the window is measured back from it. */
    private readonly newest: number,
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  get(holdId: string): ExpiredHold | undefined {
    const r = this.recent.get(holdId);
    if (r !== undefined) return r ?? undefined;
    return this.base.get(holdId);
  }

  has(holdId: string): boolean {
    return this.get(holdId) !== undefined;
  }

  /** The hold ids, earliest expired first. */
  keys(): string[] {
    return [...this.folded().keys()];
  }

  with(holdId: string, hold: ExpiredHold): ExpiredHolds {
    const size = this.size + (this.has(holdId) ? 0 : 1);
    const newest = Math.max(this.newest, Date.parse(hold.expiresAt));
    return this.changed(holdId, hold, size, newest);
  }

  without(holdId: string): ExpiredHolds {
    if (!this.has(holdId)) return this;
    return this.changed(holdId, null, this.size - 1, this.newest);
  }

  private changed(holdId: string, hold: ExpiredHold | null, size: number, newest: number): ExpiredHolds {
    const recent = new Map(this.recent);
    recent.delete(holdId); // re-inserted last: an added hold is the latest to expire
    recent.set(holdId, hold);
    const next = new ExpiredHolds(this.base, recent, size, newest, this.windowMs, this.max);
    return recent.size < COMPACT_EVERY ? next : next.compacted();
  }

  private folded(): Map<string, ExpiredHold> {
    const all = new Map(this.base);
    for (const [id, h] of this.recent) {
      all.delete(id);
      if (h) all.set(id, h);
    }
    return all;
  }

  private compacted(): ExpiredHolds {
    const all = this.folded();
    const horizon = this.newest - this.windowMs;
    for (const [id, h] of all) {
      if (all.size <= this.max && Date.parse(h.expiresAt) >= horizon) break;
      all.delete(id);
    }
    return new ExpiredHolds(all, new Map(), all.size, this.newest, this.windowMs, this.max);
  }
}
