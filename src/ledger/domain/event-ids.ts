/**
 * Which event id each command's events get. The key is the command's own identity, so a retry
 * yields the same ids, and different commands that must not both happen share one id:
 * - a payment credits once, whichever account it is aimed at: `payment:<id>`;
 * - a hold resolves once, whether settled, voided or expired: `hold:<id>:resolved`;
 * - a freeze is refunded or released, once: `freeze:<account>:<id>:resolved`;
 * - a hold that expired is settled late at most once: `hold:<id>:settled-late`. Its HoldExpired
 *   holds the `resolved` id, so a hold can never have both a settle and a late settle.
 * The key is the command's, except that a settle's key depends on what the decider made of it
 * (`first`, the type of its first event): a normal settle or a late one.
 */
import { AccountCommand, cryptoPaymentId } from './account.decider';
import { LedgerEventType } from './events';
import { deterministicId } from '../../shared/ids';

export function eventIdFor(accountId: string, command: AccountCommand, index: number, first?: LedgerEventType): string {
  return deterministicId(`${commandKey(accountId, command, first)}#${index}`);
}

/** The id of a hold's late settle, whichever command asks after it. */
export const lateSettleEventId = (holdId: string): string => deterministicId(`hold:${holdId}:settled-late#0`);

export function commandKey(accountId: string, c: AccountCommand, first?: LedgerEventType): string {
  if (c.type === 'SettleHold' && first === 'HoldSettledLate') return `hold:${c.data.holdId}:settled-late`;
  switch (c.type) {
    case 'OpenAccount':
      return `account:${accountId}:opened`;
    case 'PurchaseCredits':
      return `payment:stripe:${c.data.paymentId}`;
    case 'CreditCryptoPayment':
      return `payment:${cryptoPaymentId(c.data)}`;
    case 'GrantCredits':
      return `grant:${accountId}:${c.data.grantId}`;
    case 'GrantFreeRequests':
      return `free:${accountId}:${c.data.grantId}`;
    case 'UseFreeRequest':
      return `free-use:${accountId}:${c.data.requestId}`;
    case 'PlaceHold':
      return `hold:${c.data.holdId}:placed`;
    case 'ExtendHold':
      return `hold:${c.data.holdId}:extended:${c.data.expiresAt}`;
    case 'SettleHold':
    case 'VoidHold':
    case 'ExpireHold':
      return `hold:${c.data.holdId}:resolved`;
    case 'RefundCredits':
      // From a freeze: that freeze's resolution, so a freeze is refunded or released, never both.
      return c.data.freezeId !== undefined ? `freeze:${accountId}:${c.data.freezeId}:resolved` : `refund:${accountId}:${c.data.refundId}`;
    case 'FreezeCredits':
      return `freeze:${accountId}:${c.data.freezeId}:placed`;
    case 'ReleaseFreeze':
      return `freeze:${accountId}:${c.data.freezeId}:resolved`;
    case 'OpenDispute':
      return `dispute:${accountId}:${c.data.disputeId}:opened`;
    case 'CloseDispute':
      return `dispute:${accountId}:${c.data.disputeId}:closed`;
    case 'Adjust':
      return `adjust:${accountId}:${c.data.adjustmentId}`;
    case 'RestrictAccount':
      return `restriction:${accountId}:${c.data.restrictionId}:applied`;
    case 'LiftRestriction':
      return `restriction:${accountId}:${c.data.restrictionId}:lifted`;
    case 'ForfeitCredits':
      return `forfeit:${accountId}:${c.data.forfeitId}`;
  }
}
