/** The rule of what may be done with a person's data under a restriction of processing. */
import { PROCESSING_PURPOSES, ProcessingPurpose, whileRestricted } from '../../../src/ledger/domain/processing-restriction';

const free = { restrictions: new Set<string>() };
const restricted = { restrictions: new Set(['r-1']) };
const twice = { restrictions: new Set(['r-1', 'r-2']) };

describe('whileRestricted', () => {
  it('lets every purpose proceed on an account under no restriction', () => {
    for (const p of PROCESSING_PURPOSES) expect(whileRestricted(p, free)).toBe('proceed');
  });

  it('under a restriction: receipts deferred, low-balance alerts dropped, breach notices, sign-in links and refund outcomes go on', () => {
    const decided = Object.fromEntries(PROCESSING_PURPOSES.map((p) => [p, whileRestricted(p, restricted)]));
    expect(decided).toEqual<Record<ProcessingPurpose, string>>({
      receipt: 'defer',
      low_balance_alert: 'drop',
      breach_notice: 'proceed',
      sign_in_link: 'proceed',
      refund_outcome: 'proceed',
    });
  });

  it('two restrictions in force (two requests) restrict as one; the lift of one leaves the other in force', () => {
    expect(whileRestricted('receipt', twice)).toBe('defer');
    expect(whileRestricted('receipt', { restrictions: new Set(['r-2']) })).toBe('defer');
  });
});
