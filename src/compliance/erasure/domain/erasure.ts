/**
 * Erasure (the right to be forgotten), as events on the person's own stream `erasure-<userId>`:
 * the steps done so far, so an erasure interrupted half-way is finished by running it again,
 * and one already finished is answered as it ended. Ids and amounts only: nothing personal.
 *
 *   ErasureStarted   who asked (the person, a staff member, the CLI), the account
 *   KeysRevoked      the API keys and management keys revoked (ids)
 *   CreditSettled    the stated rule for unused credit: a refund request for what is still
 *                    refundable (a purchase within its refund window), the rest forfeited
 *                    (CreditsForfeited on the account, forfeitId `erasure-<erasureId>-forfeit`)
 *   ErasureCompleted sessions, passkeys and identities gone, the person's data key destroyed
 *
 * Pure: the service (application/erasure.service.ts) does the effects, this says what is done.
 */
import { DomainError } from '../../../shared/domain-error';
import { Micros } from '../../../shared/money';

export class ErasureError extends DomainError<'reauthentication_required' | 'erasure_in_progress' | 'erasure_incomplete'> {
  override readonly name = 'ErasureError';
}

/** How recent a sign-in must be for a person to erase themselves (DELETE /api/me). */
export const REAUTH_WINDOW_MS = 10 * 60_000;

export const ERASURE_STREAM_PREFIX = 'erasure-';
export const erasureStream = (userId: string) => `${ERASURE_STREAM_PREFIX}${userId.toLowerCase()}`;

/** The reason written on the forfeit adjustment and on the refund requests an erasure files. */
export const FORFEIT_REASON = 'unused credit forfeited on erasure (right to be forgotten)';
export const REFUND_REASON = 'erasure (right to be forgotten): unused credit of this purchase returned';

/** The id of the erasure's one forfeit on the account (a retry books nothing twice). */
export const forfeitIdOf = (e: { erasureId: string }) => `erasure-${e.erasureId}-forfeit`;

export interface FiledRefund {
  requestId: string;
  paymentId: string;
  /** µcr, decimal string. */
  amount: string;
}

export type ErasureEvent =
  | {
      type: 'ErasureStarted';
      data: { erasureId: string; userId: string; accountId: string; actor: string; via: ErasureVia; at: string; auditId: string | null };
    }
  | { type: 'KeysRevoked'; data: { apiKeys: string[]; managementKeys: string[]; at: string } }
  | { type: 'CreditSettled'; data: { forfeited: string; forfeitId: string | null; refundRequests: FiledRefund[]; at: string } }
  | { type: 'ErasureCompleted'; data: { at: string; sessionsEnded: number } };

export type ErasureVia = 'self' | 'staff' | 'cli';
export type ErasureStep = 'revoke_keys' | 'settle_credit' | 'complete' | 'done';

export interface Erasure {
  erasureId: string;
  userId: string;
  accountId: string;
  actor: string;
  via: ErasureVia;
  startedAt: string;
  keysRevoked: { apiKeys: string[]; managementKeys: string[] } | null;
  credit: { forfeited: Micros; refundRequests: FiledRefund[] } | null;
  completedAt: string | null;
}

const TYPES = new Set<string>(['ErasureStarted', 'KeysRevoked', 'CreditSettled', 'ErasureCompleted']);

/** The erasure as its stream tells it; null when none was started. Unknown types are refused. */
export function foldErasure(events: ReadonlyArray<{ type: string; data: Record<string, unknown> }>): Erasure | null {
  let e: Erasure | null = null;
  for (const raw of events) {
    if (!TYPES.has(raw.type)) throw new Error(`unknown erasure event type ${raw.type}`);
    const ev = raw as ErasureEvent;
    if (ev.type === 'ErasureStarted') {
      if (e) continue; // started once; a second start (a race) changes nothing
      const d = ev.data;
      e = { erasureId: d.erasureId, userId: d.userId, accountId: d.accountId, actor: d.actor, via: d.via, startedAt: d.at, keysRevoked: null, credit: null, completedAt: null };
      continue;
    }
    if (!e) throw new Error(`erasure event ${ev.type} before ErasureStarted`);
    switch (ev.type) {
      case 'KeysRevoked':
        e = { ...e, keysRevoked: e.keysRevoked ?? { apiKeys: [...ev.data.apiKeys], managementKeys: [...ev.data.managementKeys] } };
        break;
      case 'CreditSettled':
        e = { ...e, credit: e.credit ?? { forfeited: BigInt(ev.data.forfeited), refundRequests: ev.data.refundRequests.map((r) => ({ ...r })) } };
        break;
      case 'ErasureCompleted':
        e = { ...e, completedAt: e.completedAt ?? ev.data.at };
        break;
    }
  }
  return e;
}

/** What is left to do, in order: every step needs the ones before it. */
export function nextStep(e: Erasure): ErasureStep {
  if (e.completedAt !== null) return 'done';
  if (e.keysRevoked === null) return 'revoke_keys';
  if (e.credit === null) return 'settle_credit';
  return 'complete';
}

export interface CreditPlanInput {
  available: Micros;
  now: Date;
  /** The account's purchases with unspent credit (refunds' PurchasesReader). */
  purchases: ReadonlyArray<{ paymentId: string; unspent: Micros; refundableUntil: Date; refundable: Micros }>;
  /** Refund requests already open and not yet frozen (status requested), per purchase: their amounts stay available for them. */
  openRequested: ReadonlyMap<string, Micros>;
}

export interface CreditPlan {
  /** µcr taken from available and recorded as forfeited. */
  forfeit: Micros;
  /** Purchases to file a refund request for (within their window, nothing open for them yet). */
  toRequest: string[];
}

/**
 * The stated rule for unused credit: every purchase still in its refund window gets a refund
 * request for what of it is unspent (its `refundable` part: a card refund is whole cents);
 * what is already asked for stays available for its request; everything else available
 * (promotional credit, purchases past their window, sub-cent remainders) is forfeited.
 */
export function planCredit(input: CreditPlanInput): CreditPlan {
  let kept = 0n;
  const toRequest: string[] = [];
  for (const [, amount] of input.openRequested) kept += amount;
  for (const p of input.purchases) {
    if (input.openRequested.has(p.paymentId)) continue;
    if (p.refundable <= 0n || input.now.getTime() > p.refundableUntil.getTime()) continue;
    kept += p.refundable;
    toRequest.push(p.paymentId);
  }
  const forfeit = input.available > kept ? input.available - kept : 0n;
  return { forfeit, toRequest };
}
