import { ledgerFacts } from '../../../projections/projection';
import { RecordedEvent } from '../../../src/platform/event-store/event-store.port';

const event = (metadata: Record<string, unknown>, over: Partial<RecordedEvent> = {}): RecordedEvent => ({
  id: '00000000-0000-5000-8000-000000000001',
  type: 'CreditsPurchased',
  data: { paymentId: 'pi_1', amount: '5000000' },
  metadata,
  streamId: 'account-a',
  streamVersion: 2n,
  position: { tx: 1n, seq: 1n },
  hash: '00',
  recordedAt: new Date('2026-11-23T10:00:00.123Z'),
  ...over,
});

describe('ledger facts (what every read model is given)', () => {
  it('takes the ledger\'s own occurredAt as it is', () => {
    expect(ledgerFacts([event({ occurredAt: '2026-11-23T09:59:59.999Z' })])[0].occurredAt).toBe('2026-11-23T09:59:59.999Z');
  });

  it('normalises an occurredAt written in another form to UTC milliseconds', () => {
    expect(ledgerFacts([event({ occurredAt: '2026-01-01T00:30:00+02:00' })])[0].occurredAt).toBe('2025-12-31T22:30:00.000Z');
  });

  it('falls back to the time the event was recorded', () => {
    expect(ledgerFacts([event({})])[0].occurredAt).toBe('2026-11-23T10:00:00.123Z');
  });

  it('decodes money as bigint and works out the postings once per page', () => {
    const page = [event({ occurredAt: '2026-11-23T09:59:59.999Z' })];
    const facts = ledgerFacts(page);
    expect(facts[0].event).toEqual({ type: 'CreditsPurchased', data: { paymentId: 'pi_1', amount: 5_000_000n } });
    expect(facts[0].postings).toEqual([
      { account: 'user:a:available', amount: 5_000_000n },
      { account: 'stripe:clearing', amount: -5_000_000n },
    ]);
    expect(ledgerFacts(page)).toBe(facts); // the same page: decoded once
    expect(ledgerFacts([...page])).not.toBe(facts); // another array: decoded again, equal
    expect(ledgerFacts([...page])).toEqual(facts);
  });
});
