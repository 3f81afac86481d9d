/**
 * given(events).when(command, now?).then(events) / .thenThrows(code): the decider spec helper.
 * The state is built by folding the given events with the real evolve(), so a spec reads as the
 * account's history, not as a hand-made state object.
 *
 * The returned object has a `then` method, which makes it thenable: never `await` it or return
 * it from a test body (call `.then(...)` / `.thenThrows(...)` as a statement).
 */
import { AccountCommand, AccountState, decide, evolveAll } from '../../../src/ledger/domain/account.decider';
import { LedgerError, LedgerErrorCode } from '../../../src/ledger/domain/errors';
import { LedgerEvent } from '../../../src/ledger/domain/events';
import { Micros } from '../../../src/shared/money';

export const ACCOUNT_ID = 'acc-1';
export const NOW = new Date('2025-06-01T12:00:00.000Z');
export const IN_AN_HOUR = new Date(NOW.getTime() + 3_600_000).toISOString();

export interface Then {
  then(expected: LedgerEvent[]): void;
  thenThrows(code: LedgerErrorCode): LedgerError;
}

export function given(history: LedgerEvent[]): { state: AccountState; when(command: AccountCommand, now?: Date): Then } {
  const state = evolveAll(history);
  return {
    state,
    when(command, now = NOW) {
      return {
        then(expected) {
          expect(decide(command, state, { now })).toEqual(expected);
        },
        thenThrows(code) {
          let thrown: unknown;
          try {
            const events = decide(command, state, { now });
            thrown = new Error(`expected ${code}, but decide returned ${events.length} event(s): ${events.map((e) => e.type).join(', ')}`);
          } catch (err) {
            thrown = err;
          }
          if (!(thrown instanceof LedgerError)) throw thrown;
          expect(thrown.code).toBe(code);
          return thrown;
        },
      };
    },
  };
}

// Event builders for histories: the shapes the decider itself emits.
export const opened = (freeRequests = 20): LedgerEvent[] => [
  { type: 'AccountOpened', data: { accountId: ACCOUNT_ID, ownerId: null } },
  ...(freeRequests > 0
    ? [{ type: 'FreeRequestsGranted' as const, data: { grantId: 'welcome', count: freeRequests } }]
    : []),
];
export const purchased = (amount: Micros, paymentId = 'pi_1'): LedgerEvent => ({
  type: 'CreditsPurchased',
  data: { paymentId, amount, provider: 'stripe' },
});
export const holdPlaced = (holdId: string, amount: Micros, expiresAt = IN_AN_HOUR): LedgerEvent => ({
  type: 'HoldPlaced',
  data: { holdId, amount, expiresAt },
});
export const holdSettled = (holdId: string, amount: Micros, released: Micros, upstreamCost = 0n): LedgerEvent => ({
  type: 'HoldSettled',
  data: { holdId, amount, released, upstreamCost, usage: null },
});
export const holdVoided = (holdId: string, amount: Micros, reason = 'upstream failed'): LedgerEvent => ({
  type: 'HoldVoided',
  data: { holdId, amount, reason },
});
export const holdExpired = (holdId: string, amount: Micros): LedgerEvent => ({
  type: 'HoldExpired',
  data: { holdId, amount },
});
