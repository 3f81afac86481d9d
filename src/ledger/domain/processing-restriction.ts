/**
 * What may be done with a person's data while their account is under a restriction of
 * processing (a data-subject request, GDPR Art. 18; the ledger's AccountRestricted events).
 * The one place that decides it: every path that mails or otherwise uses the person's data on
 * its own initiative asks `whileRestricted` (through ProcessingRestriction for an account id),
 * so the rule is read here, not in each sender.
 *
 * During a restriction the data is stored, exported and erased on request, and nothing else:
 * - `defer`: a record the person is owed (a receipt of a purchase) is kept and sent once the
 *   restriction is lifted;
 * - `drop`: a notice that would be stale after the lift (a low-balance alert tells a balance of
 *   the moment) is not sent at all; the next fall after the lift alerts as usual;
 * - `allow`: what the law requires or the person asked for goes on: a breach notice (Art. 34,
 *   a legal duty), a sign-in link the person requested (the way to their export, their
 *   erasure and their requests), the outcome of a refund the person asked for (processing at
 *   their request, Art. 18(2)).
 * The proxy itself is refused by the decider (PlaceHold and UseFreeRequest: account_restricted);
 * credits still come in, and holds already placed still settle.
 */
import { assertNever } from '../../shared/assert-never';

export const PROCESSING_PURPOSES = ['receipt', 'low_balance_alert', 'breach_notice', 'sign_in_link', 'refund_outcome'] as const;
export type ProcessingPurpose = (typeof PROCESSING_PURPOSES)[number];

export type WhileRestricted = 'defer' | 'drop' | 'allow';

/** The rule for each purpose while a restriction is in force. */
export function ruleWhileRestricted(purpose: ProcessingPurpose): WhileRestricted {
  switch (purpose) {
    case 'receipt':
      return 'defer';
    case 'low_balance_alert':
      return 'drop';
    case 'breach_notice':
    case 'sign_in_link':
    case 'refund_outcome':
      return 'allow';
    default:
      return assertNever(purpose);
  }
}

/** What to do now: go ahead, or (restricted) defer or drop. */
export type ProcessingDecision = 'proceed' | 'defer' | 'drop';

export function whileRestricted(purpose: ProcessingPurpose, state: { restrictions: ReadonlySet<string> }): ProcessingDecision {
  if (state.restrictions.size === 0) return 'proceed';
  const rule = ruleWhileRestricted(purpose);
  return rule === 'allow' ? 'proceed' : rule;
}
