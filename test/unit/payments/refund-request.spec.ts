/** The refund request's pure parts: which purchases qualify, the amount rule, and the fold of its stream. */
import { RefundsError, foldRefundRequest, methodOf, requestedAmount } from '../../../src/payments/refunds/domain/refund-request';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
const hash = `0x${'ab'.repeat(32)}`;

describe('refund request domain', () => {
  it('tells card and crypto purchases apart; anything else is not a purchase', () => {
    expect(methodOf('pi_3Nabc123')).toBe('card');
    expect(methodOf(`chain-8453-${hash}-0`)).toBe('crypto');
    for (const other of ['grant-1', 'code:abc', 'pi_', `chain-8453-${hash.toUpperCase()}-0`, `chain-8453-0x12-0`, 'pi_../x', '']) expect(methodOf(other)).toBeNull();
  });

  it('card: an amount asked must be whole cents; the default is the unspent part rounded down to cents', () => {
    expect(requestedAmount('card', c(9.999999), null)).toBe(c(9.99));
    expect(requestedAmount('card', c(0.009999), null)).toBe(0n);
    expect(requestedAmount('card', c(10), c(2.5))).toBe(c(2.5));
    expect(() => requestedAmount('card', c(10), c(2.505))).toThrow(RefundsError);
    expect(() => requestedAmount('card', c(10), 0n)).toThrow(RefundsError);
  });

  it('crypto: any whole µcr (1 token unit = 1 µcr)', () => {
    expect(requestedAmount('crypto', c(9.999999), null)).toBe(c(9.999999));
    expect(requestedAmount('crypto', c(10), 1n)).toBe(1n);
  });

  it('folds a stream: requested → approved → completed, with the version a decision is appended at', () => {
    const requested = {
      type: 'RefundRequested',
      data: { requestId: 'r1', accountId: 'a1', userId: 'u1', paymentId: 'pi_1', method: 'card', amount: '5000000', reason: 'v1:x', purchasedAt: '2026-01-01T00:00:00.000Z', requestedAt: '2026-01-02T00:00:00.000Z' },
    };
    expect(foldRefundRequest([])).toBeNull();
    expect(foldRefundRequest([requested])).toMatchObject({ status: 'requested', amount: c(5), version: 1n });
    const approved = { type: 'RefundApproved', data: { requestId: 'r1', actor: 'cli:ops', reason: 'ok', at: '2026-01-03T00:00:00.000Z' } };
    const completed = { type: 'RefundCompleted', data: { requestId: 'r1', stripeRefundId: 're_1' } };
    expect(foldRefundRequest([requested, approved, completed])).toMatchObject({ status: 'completed', decidedBy: 'cli:ops', stripeRefundId: 're_1', version: 3n });
    const failed = { type: 'RefundFailed', data: { requestId: 'r1', message: 'Stripe refused' } };
    expect(foldRefundRequest([requested, approved, failed])).toMatchObject({ status: 'failed', failure: 'Stripe refused' });
    expect(() => foldRefundRequest([approved])).toThrow(/starts with RefundApproved/);
    expect(() => foldRefundRequest([requested, { type: 'Nope', data: {} }])).toThrow(/unknown/);
  });
});
