/**
 * Where an account's credit came from, and so which of it may be refunded: the one place the
 * attribution rule lives (issue 20).
 *
 * The rule: spending is attributed, when it happens (a settle, a late settle's paid part, a
 * debt repaid, a negative adjustment), to promotional credit first (grants, codes, positive
 * adjustments: never refundable), then to purchases oldest first. What a purchase still has
 * unattributed is its unspent part, the most a refund of it may return.
 *
 * A purchase's credit can also be reserved: frozen for an approved refund request, or under a
 * dispute. Reserved credit is out of the purchase's unspent part (it cannot be spent or asked
 * for again) until the reservation ends: released back to unspent, or consumed (refunded, or
 * lost to the dispute).
 *
 * Fully used purchases are dropped, so the state holds only purchases with something left.
 * Pure and immutable: every operation returns a new Funds and leaves the old one as it was.
 */
import { Micros } from '../../shared/money';

export interface Lot {
  readonly paymentId: string;
  /** What the purchase credited. */
  readonly amount: Micros;
  /** Not yet attributed to spending nor reserved. */
  readonly unspent: Micros;
  /** Reserved (frozen for a refund, or under a dispute). */
  readonly reserved: Micros;
}

export class Funds {
  private constructor(
    /** Promotional credit not yet spent. */
    readonly promo: Micros,
    /** Purchases with something unspent or reserved, oldest first. */
    readonly lots: readonly Lot[],
  ) {}

  private static readonly none = new Funds(0n, []);

  static empty(): Funds {
    return Funds.none;
  }

  /** The purchase's lot, or undefined when it is unknown or fully used. */
  lot(paymentId: string): Lot | undefined {
    return this.lots.find((l) => l.paymentId === paymentId);
  }

  /** What of this purchase is still unspent (0 when unknown or fully used). */
  unspentOf(paymentId: string): Micros {
    return this.lot(paymentId)?.unspent ?? 0n;
  }

  purchased(paymentId: string, amount: Micros): Funds {
    if (amount <= 0n) return this;
    return new Funds(this.promo, [...this.lots, { paymentId, amount, unspent: amount, reserved: 0n }]);
  }

  promotional(amount: Micros): Funds {
    return amount <= 0n ? this : new Funds(this.promo + amount, this.lots);
  }

  /**
   * Spending of `amount`: promotional credit first, then purchases oldest first. Spending past
   * everything unspent (credit that came from nowhere this state knows, e.g. before this rule)
   * attributes what it can and stops.
   */
  spent(amount: Micros): Funds {
    if (amount <= 0n) return this;
    const fromPromo = amount < this.promo ? amount : this.promo;
    let rest = amount - fromPromo;
    if (rest === 0n) return new Funds(this.promo - fromPromo, this.lots);
    const lots: Lot[] = [];
    for (const lot of this.lots) {
      if (rest === 0n || lot.unspent === 0n) {
        lots.push(lot);
        continue;
      }
      const take = rest < lot.unspent ? rest : lot.unspent;
      rest -= take;
      lots.push({ ...lot, unspent: lot.unspent - take });
    }
    return new Funds(this.promo - fromPromo, compact(lots));
  }

  /** Reserves up to `amount` of the purchase's unspent part; returns the new funds and what it reserved. */
  reserve(paymentId: string, amount: Micros): { funds: Funds; reserved: Micros } {
    const lot = this.lot(paymentId);
    if (!lot || amount <= 0n) return { funds: this, reserved: 0n };
    const take = amount < lot.unspent ? amount : lot.unspent;
    return { funds: this.withLot(paymentId, { ...lot, unspent: lot.unspent - take, reserved: lot.reserved + take }), reserved: take };
  }

  /** A reservation ended without the credit leaving: back to the purchase's unspent part. */
  unreserve(paymentId: string, amount: Micros): Funds {
    const lot = this.lot(paymentId);
    if (!lot || amount <= 0n) return this;
    const back = amount < lot.reserved ? amount : lot.reserved;
    return this.withLot(paymentId, { ...lot, unspent: lot.unspent + back, reserved: lot.reserved - back });
  }

  /** A reservation ended with the credit gone (refunded, lost to a dispute). */
  consumeReserved(paymentId: string, amount: Micros): Funds {
    const lot = this.lot(paymentId);
    if (!lot || amount <= 0n) return this;
    const gone = amount < lot.reserved ? amount : lot.reserved;
    return this.withLot(paymentId, { ...lot, reserved: lot.reserved - gone });
  }

  /**
   * Credit that left because of this purchase without a reservation (a refund made in Stripe's
   * own dashboard): from the purchase's unspent part first, the rest by the spending rule.
   */
  takenFrom(paymentId: string, amount: Micros): Funds {
    if (amount <= 0n) return this;
    const lot = this.lot(paymentId);
    const fromLot = lot ? (amount < lot.unspent ? amount : lot.unspent) : 0n;
    const after = lot && fromLot > 0n ? this.withLot(paymentId, { ...lot, unspent: lot.unspent - fromLot }) : this;
    return after.spent(amount - fromLot);
  }

  private withLot(paymentId: string, next: Lot): Funds {
    return new Funds(this.promo, compact(this.lots.map((l) => (l.paymentId === paymentId ? next : l))));
  }
}

function compact(lots: Lot[]): Lot[] {
  return lots.some((l) => l.unspent === 0n && l.reserved === 0n) ? lots.filter((l) => l.unspent !== 0n || l.reserved !== 0n) : lots;
}
