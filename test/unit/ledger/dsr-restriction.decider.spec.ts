/**
 * Restriction of processing (issue 21, data-subject requests) in the account decider: while a
 * restriction is in force no new hold and no free request; holds already placed still settle,
 * void and expire; credit still comes in. A restriction id is applied once and lifted once.
 */
import { decide, evolveAll } from '../../../src/ledger/domain/account.decider';
import { eventIdFor } from '../../../src/ledger/domain/event-ids';
import { LedgerEvent } from '../../../src/ledger/domain/events';
import { postingsOf } from '../../../src/ledger/domain/postings';
import { ACCOUNT_ID, IN_AN_HOUR, NOW, given, holdPlaced, opened, purchased } from './decider-spec';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
const restricted = (restrictionId = 'r1'): LedgerEvent => ({ type: 'AccountRestricted', data: { restrictionId, reason: 'data-subject request' } });
const lifted = (restrictionId = 'r1'): LedgerEvent => ({ type: 'AccountRestrictionLifted', data: { restrictionId, reason: 'lifted' } });
const restrict = (restrictionId = 'r1') => ({ type: 'RestrictAccount' as const, data: { restrictionId, reason: 'data-subject request' } });
const lift = (restrictionId = 'r1') => ({ type: 'LiftRestriction' as const, data: { restrictionId, reason: 'lifted' } });
const placeHold = (holdId: string, amount: bigint) => ({ type: 'PlaceHold' as const, data: { holdId, amount, expiresAt: IN_AN_HOUR } });
const useFree = { type: 'UseFreeRequest' as const, data: { requestId: 'q1' } };

describe('account decider: restriction of processing', () => {
  it('restricting records AccountRestricted, with no postings', () => {
    given([...opened(), purchased(c(10))]).when(restrict()).then([restricted()]);
    expect(postingsOf(ACCOUNT_ID, restricted())).toEqual([]);
    expect(postingsOf(ACCOUNT_ID, lifted())).toEqual([]);
  });

  it('a restricted account places no hold and uses no free request (account_restricted)', () => {
    const history = [...opened(), purchased(c(10)), restricted()];
    const err = given(history).when(placeHold('h1', c(1))).thenThrows('account_restricted');
    expect(err.message).toMatch(/restricted/);
    given(history).when(useFree).thenThrows('account_restricted');
  });

  it('holds placed before the restriction still settle, void and expire; credit still comes in', () => {
    const history = [...opened(), purchased(c(10)), holdPlaced('h1', c(2)), holdPlaced('h2', c(1)), holdPlaced('h3', c(1), NOW.toISOString()), restricted()];
    given(history)
      .when({ type: 'SettleHold', data: { holdId: 'h1', amount: c(1.5) } })
      .then([{ type: 'HoldSettled', data: { holdId: 'h1', amount: c(1.5), released: c(0.5), upstreamCost: 0n, usage: null } }]);
    given(history).when({ type: 'VoidHold', data: { holdId: 'h2', reason: 'upstream failed' } }).then([{ type: 'HoldVoided', data: { holdId: 'h2', amount: c(1), reason: 'upstream failed' } }]);
    given(history).when({ type: 'ExpireHold', data: { holdId: 'h3' } }).then([{ type: 'HoldExpired', data: { holdId: 'h3', amount: c(1) } }]);
    given(history).when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: c(5) } }).then([{ type: 'CreditsPurchased', data: { paymentId: 'pi_2', amount: c(5), provider: 'stripe' } }]);
    // A retry of a hold placed before the restriction is still the same hold, not a refusal.
    given(history).when(placeHold('h1', c(2))).then([]);
  });

  it('applied twice is one restriction; lifting it allows holds again', () => {
    given([...opened(), restricted()]).when(restrict()).then([]);
    given([...opened(), restricted()]).when(lift()).then([lifted()]);
    given([...opened(), purchased(c(10)), restricted(), lifted()])
      .when(placeHold('h1', c(1)))
      .then([holdPlaced('h1', c(1))]);
  });

  it('lifting what is not in force is restriction_not_active; lifting again is a retry', () => {
    given([...opened()]).when(lift()).thenThrows('restriction_not_active');
    given([...opened(), restricted('r1')]).when(lift('r2')).thenThrows('restriction_not_active');
    given([...opened(), restricted(), lifted()]).when(lift()).then([]);
  });

  it('a lifted id is not applied again (it would share the first event id); a new id is', () => {
    given([...opened(), restricted(), lifted()]).when(restrict()).thenThrows('idempotency_conflict');
    given([...opened(), restricted(), lifted()]).when(restrict('r2')).then([restricted('r2')]);
  });

  it('two restrictions: restricted until both are lifted', () => {
    const history = [...opened(), purchased(c(10)), restricted('r1'), restricted('r2'), lifted('r1')];
    given(history).when(placeHold('h1', c(1))).thenThrows('account_restricted');
    given([...history, lifted('r2')]).when(placeHold('h1', c(1))).then([holdPlaced('h1', c(1))]);
    expect(evolveAll(history).restrictions).toEqual(new Set(['r2']));
  });

  it('refuses an empty id or reason (invalid_command), and an account never opened', () => {
    given([...opened()]).when({ type: 'RestrictAccount', data: { restrictionId: '', reason: 'x' } }).thenThrows('invalid_command');
    given([...opened()]).when({ type: 'RestrictAccount', data: { restrictionId: 'r1', reason: ' ' } }).thenThrows('invalid_command');
    given([...opened()]).when({ type: 'LiftRestriction', data: { restrictionId: 'x'.repeat(201), reason: 'x' } }).thenThrows('invalid_command');
    given([]).when(restrict()).thenThrows('account_not_found');
  });

  it('apply and lift have event ids of their own per restriction id', () => {
    const state = evolveAll([...opened()]);
    const applied = eventIdFor(ACCOUNT_ID, restrict(), 0);
    expect(decide(restrict(), state, { now: NOW })).toEqual([restricted()]);
    expect(eventIdFor(ACCOUNT_ID, restrict(), 0)).toBe(applied);
    expect(eventIdFor(ACCOUNT_ID, lift(), 0)).not.toBe(applied);
    expect(eventIdFor(ACCOUNT_ID, restrict('r2'), 0)).not.toBe(applied);
  });
});
