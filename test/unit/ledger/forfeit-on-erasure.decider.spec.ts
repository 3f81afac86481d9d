/**
 * CreditsForfeited (issue 21, erasure): unused credit a person gives up when erased. At most what
 * is available (never held or frozen credit), a reason required, attributed as spending is
 * (promotional credit first, then purchases oldest first, so newer purchases keep their
 * refundable part), posted out of available into the house account `forfeited`.
 */
import { decide, evolveAll } from '../../../src/ledger/domain/account.decider';
import { eventIdFor } from '../../../src/ledger/domain/event-ids';
import { LedgerEvent } from '../../../src/ledger/domain/events';
import { postingsOf } from '../../../src/ledger/domain/postings';
import { ACCOUNT_ID, IN_AN_HOUR, NOW, given, holdPlaced, opened, purchased } from './decider-spec';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
const forfeit = (amount: bigint, forfeitId = 'erasure-e1-forfeit') => ({ type: 'ForfeitCredits' as const, data: { forfeitId, amount, reason: 'unused credit forfeited on erasure' } });
const granted = (amount: bigint): LedgerEvent => ({ type: 'CreditsGranted', data: { grantId: 'g', amount, reason: 'promo' } });

describe('ForfeitCredits', () => {
  it('takes what is available into `forfeited`, postings summing to zero', () => {
    const history = [...opened(0), purchased(c(10)), granted(c(2))];
    given(history).when(forfeit(c(3))).then([{ type: 'CreditsForfeited', data: { forfeitId: 'erasure-e1-forfeit', amount: c(3), reason: 'unused credit forfeited on erasure' } }]);
    const [e] = decide(forfeit(c(3)), evolveAll(history), { now: NOW });
    const postings = postingsOf(ACCOUNT_ID, e);
    expect(postings).toEqual([
      { account: 'forfeited', amount: c(3) },
      { account: `user:${ACCOUNT_ID}:available`, amount: -c(3) },
    ]);
    expect(evolveAll([...history, e]).available).toBe(c(9));
  });

  it('is attributed promotional first, then the oldest purchase: the newest keeps its refundable part', () => {
    const state = evolveAll([...opened(0), purchased(c(5), 'pi_old'), purchased(c(20), 'pi_new'), granted(c(1))]);
    const after = evolveAll(decide(forfeit(c(6)), state, { now: NOW }), state);
    expect(after.funds.promo).toBe(0n);
    expect(after.funds.unspentOf('pi_old')).toBe(0n);
    expect(after.funds.unspentOf('pi_new')).toBe(c(20));
  });

  it('never more than available (held credit stays with its request), never zero or negative, always with a reason', () => {
    const history = [...opened(0), purchased(c(10)), holdPlaced('h1', c(4), IN_AN_HOUR)];
    given(history).when(forfeit(c(6) + 1n)).thenThrows('insufficient_credits');
    given(history).when(forfeit(0n)).thenThrows('invalid_amount');
    given(history).when(forfeit(-1n)).thenThrows('invalid_amount');
    given(history).when({ type: 'ForfeitCredits', data: { forfeitId: 'f', amount: c(1), reason: ' ' } }).thenThrows('invalid_command');
    given(history).when(forfeit(c(6))).then([{ type: 'CreditsForfeited', data: { forfeitId: 'erasure-e1-forfeit', amount: c(6), reason: 'unused credit forfeited on erasure' } }]);
  });

  it('has one event id per forfeit id, so a retried forfeit is answered "exists"', () => {
    const a = eventIdFor(ACCOUNT_ID, forfeit(c(1)), 0);
    expect(eventIdFor(ACCOUNT_ID, forfeit(c(1)), 0)).toBe(a);
    expect(eventIdFor(ACCOUNT_ID, forfeit(c(1), 'other'), 0)).not.toBe(a);
    expect(eventIdFor('acc-2', forfeit(c(1)), 0)).not.toBe(a);
  });
});
