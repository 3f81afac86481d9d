/**
 * The attribution rule (src/ledger/domain/funds.ts), on its own: spending goes to promotional
 * credit first, then to purchases oldest first; reservations (freezes, disputes) leave a
 * purchase's unspent part and come back (released) or leave for good (consumed).
 */
import { Funds } from '../../../src/ledger/domain/funds';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));

const sample = () => Funds.empty().promotional(c(3)).purchased('pi_old', c(10)).purchased('pi_new', c(20));

describe('Funds: the attribution rule', () => {
  it('spending takes promotional credit first', () => {
    const f = sample().spent(c(2));
    expect(f.promo).toBe(c(1));
    expect(f.unspentOf('pi_old')).toBe(c(10));
    expect(f.unspentOf('pi_new')).toBe(c(20));
  });

  it('then the oldest purchase, then the next', () => {
    const f = sample().spent(c(3 + 10 + 5));
    expect(f.promo).toBe(0n);
    expect(f.unspentOf('pi_old')).toBe(0n);
    expect(f.lot('pi_old')).toBeUndefined(); // fully used purchases are dropped
    expect(f.unspentOf('pi_new')).toBe(c(15));
  });

  it('promotional credit that comes after a purchase is still spent first', () => {
    const f = Funds.empty().purchased('pi_1', c(10)).promotional(c(4)).spent(c(5));
    expect(f.promo).toBe(0n);
    expect(f.unspentOf('pi_1')).toBe(c(9));
  });

  it('spending past everything it knows attributes what it can and stops', () => {
    const f = sample().spent(c(1000));
    expect(f.promo).toBe(0n);
    expect(f.lots).toHaveLength(0);
  });

  it('is immutable: the old value is unchanged', () => {
    const before = sample();
    before.spent(c(20));
    expect(before.promo).toBe(c(3));
    expect(before.unspentOf('pi_old')).toBe(c(10));
  });

  it('zero or negative amounts change nothing', () => {
    const f = sample();
    expect(f.spent(0n)).toBe(f);
    expect(f.spent(-1n)).toBe(f);
    expect(f.promotional(0n)).toBe(f);
    expect(f.purchased('pi_x', 0n)).toBe(f);
  });

  it('an unknown purchase has nothing unspent and reserves nothing', () => {
    const f = sample();
    expect(f.unspentOf('pi_unknown')).toBe(0n);
    expect(f.reserve('pi_unknown', c(1))).toEqual({ funds: f, reserved: 0n });
  });

  describe('reservations', () => {
    it('reserve takes from the purchase’s unspent part, at most what is unspent', () => {
      const { funds, reserved } = sample().spent(c(3 + 4)).reserve('pi_old', c(100));
      expect(reserved).toBe(c(6));
      expect(funds.unspentOf('pi_old')).toBe(0n);
      expect(funds.lot('pi_old')).toEqual({ paymentId: 'pi_old', amount: c(10), unspent: 0n, reserved: c(6) });
    });

    it('reserved credit is not spent: spending skips to the next purchase', () => {
      const { funds } = sample().reserve('pi_old', c(10));
      const after = funds.spent(c(3 + 2));
      expect(after.lot('pi_old')).toEqual({ paymentId: 'pi_old', amount: c(10), unspent: 0n, reserved: c(10) });
      expect(after.unspentOf('pi_new')).toBe(c(18));
    });

    it('unreserve gives it back to the unspent part (at most what is reserved)', () => {
      const { funds } = sample().reserve('pi_old', c(4));
      const back = funds.unreserve('pi_old', c(99));
      expect(back.lot('pi_old')).toEqual({ paymentId: 'pi_old', amount: c(10), unspent: c(10), reserved: 0n });
    });

    it('consumeReserved removes it for good; the lot goes when nothing is left', () => {
      const { funds } = sample().reserve('pi_old', c(10));
      const gone = funds.consumeReserved('pi_old', c(10));
      expect(gone.lot('pi_old')).toBeUndefined();
      expect(gone.unspentOf('pi_new')).toBe(c(20));
    });
  });

  describe('takenFrom (a refund made in Stripe’s dashboard)', () => {
    it('takes from the purchase’s unspent part first', () => {
      const f = sample().takenFrom('pi_new', c(5));
      expect(f.unspentOf('pi_new')).toBe(c(15));
      expect(f.promo).toBe(c(3));
      expect(f.unspentOf('pi_old')).toBe(c(10));
    });

    it('the rest by the spending rule', () => {
      const f = sample().spent(c(3 + 18)).takenFrom('pi_new', c(13)); // pi_new has 12 unspent
      expect(f.lot('pi_new')).toBeUndefined();
      expect(f.unspentOf('pi_old')).toBe(0n); // the extra 1 came from... nothing else: pi_old was spent
      expect(f.lots).toHaveLength(0);
    });
  });
});
