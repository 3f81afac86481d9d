/**
 * The open holds of one account: what the account has set aside for requests in flight.
 *
 * An immutable value, as the rest of the account state, read like a ReadonlyMap. Copying a map
 * of every open hold on each change cost O(open holds): the ledger's folds (AccountFold) copied
 * it once per round and once per forecast, and with 2,000 streams open on one account that copy
 * was 4% of the gateway's time. So, as in ExpiredHolds, changes collect in a small `recent` map
 * over a shared `base` that is never modified, folded into a new base once `recent` reaches
 * compactAt (64, or √size on a larger account): a change costs O(√size) at most, amortized, and
 * a copy (fork) O(recent). A hold placed and resolved between two folds never reaches the base.
 *
 * The fields are private (#), so jest's toEqual compares two values by their holds, in order.
 * The order is a Map's: by placement, an extended hold keeping its place.
 */
import { Micros } from '../../shared/money';

export interface OpenHold {
  amount: Micros;
  expiresAt: string;
}

const COMPACT_MIN = 64;

export class OpenHolds implements ReadonlyMap<string, OpenHold> {
  static empty(): OpenHolds {
    return new OpenHolds(new Map(), new Map(), 0);
  }

  #base: ReadonlyMap<string, OpenHold>;
  /** Changes since the base was folded: a hold placed or changed, or null for one of the base's resolved. */
  #recent: Map<string, OpenHold | null>;
  #size: number;

  private constructor(base: ReadonlyMap<string, OpenHold>, recent: Map<string, OpenHold | null>, size: number) {
    this.#base = base;
    this.#recent = recent;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  get(holdId: string): OpenHold | undefined {
    const r = this.#recent.get(holdId);
    if (r !== undefined) return r ?? undefined;
    return this.#base.get(holdId);
  }

  has(holdId: string): boolean {
    return this.get(holdId) !== undefined;
  }

  /** A new value with the hold placed (or changed); this one stays as it is. */
  with(holdId: string, hold: OpenHold): OpenHolds {
    const next = this.fork();
    next.set(holdId, hold);
    return next;
  }

  /** A new value without the hold; this one stays as it is. */
  without(holdId: string): OpenHolds {
    if (!this.has(holdId)) return this;
    const next = this.fork();
    next.delete(holdId);
    return next;
  }

  /** A copy whose changes (set, delete) this one never sees: O(recent), the base is shared. */
  fork(): OpenHolds {
    return new OpenHolds(this.#base, new Map(this.#recent), this.#size);
  }

  /**
   * Changes this value in place: only for the one that made it with fork() and has not shared it
   * (AccountFold), as an immutable value must never change once another state holds it.
   */
  set(holdId: string, hold: OpenHold): void {
    if (!this.has(holdId)) this.#size++;
    this.#recent.set(holdId, hold);
    this.compactIfDue();
  }

  /** Removes the hold in place; the same rule as set(). */
  delete(holdId: string): void {
    if (!this.has(holdId)) return;
    this.#size--;
    if (this.#base.has(holdId)) this.#recent.set(holdId, null);
    else this.#recent.delete(holdId);
    this.compactIfDue();
  }

  private compactIfDue(): void {
    if (this.#recent.size < Math.max(COMPACT_MIN, Math.sqrt(this.#size))) return;
    // A new base: the old one may be shared with other values, so it is never changed.
    const all = new Map(this.#base);
    for (const [id, h] of this.#recent) {
      if (h === null) all.delete(id);
      else all.set(id, h);
    }
    this.#base = all;
    this.#recent = new Map();
  }

  *entries(): MapIterator<[string, OpenHold]> {
    const recent = this.#recent;
    for (const [id, h] of this.#base) {
      const r = recent.get(id);
      if (r === undefined) yield [id, h];
      else if (r !== null) yield [id, r];
    }
    for (const [id, r] of recent) if (r !== null && !this.#base.has(id)) yield [id, r];
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<OpenHold> {
    for (const [, h] of this.entries()) yield h;
  }

  [Symbol.iterator](): MapIterator<[string, OpenHold]> {
    return this.entries();
  }

  forEach(fn: (value: OpenHold, key: string, map: ReadonlyMap<string, OpenHold>) => void, thisArg?: unknown): void {
    for (const [id, h] of this.entries()) fn.call(thisArg, h, id, this);
  }
}
