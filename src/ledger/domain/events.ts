/**
 * The events of one account's money, all on stream `account-<id>`. Amounts are bigint µcr
 * here; on disk they are decimal strings (see encode/decode below), because JSON numbers are
 * floats.
 */
import { Micros } from '../../shared/money';

export type LedgerEvent =
  | { type: 'AccountOpened'; data: { accountId: string; ownerId: string | null } }
  | { type: 'CreditsPurchased'; data: { paymentId: string; amount: Micros; provider: 'stripe' } }
  | {
      type: 'CryptoPaymentCredited';
      data: { paymentId: string; amount: Micros; chainId: number; txHash: string; logIndex: number; token: string };
    }
  | { type: 'FreeRequestsGranted'; data: { grantId: string; count: number } }
  | { type: 'FreeRequestUsed'; data: { requestId: string } }
  | { type: 'CreditsGranted'; data: { grantId: string; amount: Micros; reason: string } }
  // keyId: the API key the hold was placed for (the per-key spend read model counts by it).
  // Optional: holds placed before keys were recorded, and holds placed without a key, have none.
  // sealedKeyId: the same, sealed with the key of its UTC day (compliance/retention): unreadable
  // once the day is past retention. New holds carry this instead of keyId.
  | { type: 'HoldPlaced'; data: { holdId: string; amount: Micros; expiresAt: string; keyId?: string; sealedKeyId?: string } }
  | {
      type: 'HoldSettled';
      data: {
        holdId: string;
        amount: Micros; // what the request cost
        released: Micros; // held minus cost, back to available
        upstreamCost: Micros; // part of the cost owed to the provider
        usage: UsageFigures | null; // plaintext: only on settles from before usage was sealed
        sealedUsage?: string; // the usage figures sealed with the key of their UTC day (compliance/retention)
      };
    }
  | { type: 'HoldExtended'; data: { holdId: string; expiresAt: string } } // a request still running: expiry moves on, no money moves
  | { type: 'HoldVoided'; data: { holdId: string; amount: Micros; reason: string } }
  | { type: 'HoldExpired'; data: { holdId: string; amount: Micros } }
  | {
      // The settle of a hold that had expired (its answer was delivered, the settle came late,
      // e.g. after an outage): one debit after the HoldExpired, taken from what is available;
      // what that cannot cover becomes a receivable the account owes.
      type: 'HoldSettledLate';
      data: {
        holdId: string;
        amount: Micros; // what the request cost: paid + owed
        paid: Micros; // taken from available
        owed: Micros; // added to the receivable
        upstreamCost: Micros;
        usage: UsageFigures | null;
        sealedUsage?: string;
      };
    }
  // Credit that came in went first to what the account owed. `reference` names what brought it
  // (the payment, grant or adjustment id, or the hold whose release it was): the event before it.
  | { type: 'ReceivableRepaid'; data: { amount: Micros; reference: string } }
  // Credit returned to the payer. `paymentId`: the purchase it refunds (absent on refunds before
  // purchases were tracked). `freezeId`: taken whole from that freeze (an approved refund request);
  // otherwise from available as far as it goes, and `owed` (absent when 0) booked as a receivable
  // (a refund made in Stripe's own dashboard, of credit already spent).
  | {
      type: 'CreditsRefunded';
      data: { refundId: string; amount: Micros; reason: string; paymentId?: string; freezeId?: string; owed?: Micros };
    }
  // Credit of a purchase set aside for an approved refund request: it cannot be spent meanwhile.
  | { type: 'CreditsFrozen'; data: { freezeId: string; paymentId: string; amount: Micros; reason: string } }
  | { type: 'FreezeReleased'; data: { freezeId: string; paymentId: string; amount: Micros; reason: string } }
  // A payment disputed by the payer's bank: as much of the disputed amount as is available is
  // frozen; while the rest is not (frozen < amount), the account is suspended.
  | { type: 'DisputeOpened'; data: { disputeId: string; paymentId: string; amount: Micros; frozen: Micros } }
  | { type: 'DisputeWon'; data: { disputeId: string; paymentId: string; released: Micros } }
  // Lost: the disputed amount leaves, from the freeze, and what the freeze lacked is owed.
  | { type: 'DisputeLost'; data: { disputeId: string; paymentId: string; amount: Micros; fromFrozen: Micros; owed: Micros } }
  | { type: 'Adjusted'; data: { adjustmentId: string; amount: Micros; reason: string } }
  // Processing restricted (a data-subject request, GDPR Art. 18): no new hold and no free request
  // while any restriction is in force; holds already placed still settle. No money moves.
  | { type: 'AccountRestricted'; data: { restrictionId: string; reason: string } }
  | { type: 'AccountRestrictionLifted'; data: { restrictionId: string; reason: string } }
  // Credit the account holder gave up: available, unused credit of a person erased (right to be
  // forgotten) that no refund request returns. Attributed as spending is (promotional first).
  | { type: 'CreditsForfeited'; data: { forfeitId: string; amount: Micros; reason: string } };

/** Metadata of a settled request (never content): enough for daily usage per model. */
export interface UsageFigures {
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  estimated: boolean;
  /** The price table version the cost was computed with (absent on events from before prices were versioned). */
  priceVersion?: number;
}

export type LedgerEventType = LedgerEvent['type'];
export type EventOf<T extends LedgerEventType> = Extract<LedgerEvent, { type: T }>;

export const LEDGER_EVENT_TYPES: readonly LedgerEventType[] = [
  'AccountOpened',
  'CreditsPurchased',
  'CryptoPaymentCredited',
  'FreeRequestsGranted',
  'FreeRequestUsed',
  'CreditsGranted',
  'HoldPlaced',
  'HoldExtended',
  'HoldSettled',
  'HoldVoided',
  'HoldExpired',
  'HoldSettledLate',
  'ReceivableRepaid',
  'CreditsRefunded',
  'Adjusted',
  'CreditsFrozen',
  'FreezeReleased',
  'DisputeOpened',
  'DisputeWon',
  'DisputeLost',
  'AccountRestricted',
  'AccountRestrictionLifted',
  'CreditsForfeited',
];
const KNOWN = new Set<string>(LEDGER_EVENT_TYPES);

export const ACCOUNT_STREAM_PREFIX = 'account-';
export const accountStream = (accountId: string) => `${ACCOUNT_STREAM_PREFIX}${accountId}`;
export const accountIdOfStream = (streamId: string) => streamId.slice(ACCOUNT_STREAM_PREFIX.length);

// Fields that hold µcr, in every event type that has them.
const MONEY_FIELDS = ['amount', 'released', 'upstreamCost', 'paid', 'owed', 'frozen', 'fromFrozen'] as const;

/** bigint → decimal string, for storage. */
export function encodeLedgerEvent(e: LedgerEvent): { type: string; data: Record<string, unknown> } {
  const data: Record<string, unknown> = { ...e.data };
  for (const f of MONEY_FIELDS) if (typeof data[f] === 'bigint') data[f] = data[f].toString();
  return { type: e.type, data };
}

export class UnknownEventError extends Error {
  constructor(type: string) {
    super(`unknown ledger event type ${type}`);
  }
}

/** Decimal string → bigint, from storage. Unknown types are an error, not a silent skip. */
export function decodeLedgerEvent(type: string, stored: Record<string, unknown>): LedgerEvent {
  if (!KNOWN.has(type)) throw new UnknownEventError(type);
  const data: Record<string, unknown> = { ...stored };
  for (const f of MONEY_FIELDS) if (typeof data[f] === 'string') data[f] = BigInt(data[f]);
  return { type, data } as LedgerEvent;
}

export function isLedgerEventType(type: string): type is LedgerEventType {
  return KNOWN.has(type);
}
