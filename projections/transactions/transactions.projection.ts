import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX, LedgerEvent } from '../../src/ledger/domain/events';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, CopyLoader, copyValue } from '../bulk';

interface Row {
  kind: string;
  amount: bigint;
  reference: string;
  reason: string | null;
}

function rowOf(e: LedgerEvent): Row | null {
  switch (e.type) {
    case 'CreditsPurchased':
      return { kind: 'purchase', amount: e.data.amount, reference: e.data.paymentId, reason: null };
    case 'CryptoPaymentCredited':
      return { kind: 'crypto_payment', amount: e.data.amount, reference: e.data.paymentId, reason: null };
    case 'CreditsGranted':
      return { kind: 'grant', amount: e.data.amount, reference: e.data.grantId, reason: e.data.reason };
    case 'CreditsRefunded':
      return { kind: 'refund', amount: -e.data.amount, reference: e.data.refundId, reason: e.data.reason };
    // Money set aside and given back: what the account's available balance saw.
    case 'CreditsFrozen':
      return { kind: 'frozen', amount: -e.data.amount, reference: e.data.freezeId, reason: e.data.reason };
    case 'FreezeReleased':
      return { kind: 'freeze_released', amount: e.data.amount, reference: e.data.freezeId, reason: e.data.reason };
    case 'DisputeOpened':
      return { kind: 'dispute_opened', amount: -e.data.frozen, reference: e.data.disputeId, reason: `payment ${e.data.paymentId} disputed` };
    case 'DisputeWon':
      return { kind: 'dispute_won', amount: e.data.released, reference: e.data.disputeId, reason: `payment ${e.data.paymentId}` };
    case 'DisputeLost':
      return e.data.owed > 0n ? { kind: 'receivable', amount: -e.data.owed, reference: e.data.disputeId, reason: `dispute of ${e.data.paymentId} lost` } : null;
    case 'Adjusted':
      return { kind: 'adjustment', amount: e.data.amount, reference: e.data.adjustmentId, reason: e.data.reason };
    case 'CreditsForfeited':
      return { kind: 'forfeit', amount: -e.data.amount, reference: e.data.forfeitId, reason: e.data.reason };
    // A debt from a late settle, and its repayment from the credit (or released hold) named: the
    // request itself is in usage, but what it left owing and how that was paid is billing.
    case 'HoldSettledLate':
      return e.data.owed > 0n ? { kind: 'receivable', amount: -e.data.owed, reference: e.data.holdId, reason: 'late settle' } : null;
    case 'ReceivableRepaid':
      return { kind: 'receivable_repaid', amount: e.data.amount, reference: e.data.reference, reason: null };
    default:
      return null; // requests (holds) are in usage, not here
  }
}

export class TransactionsProjection implements Projection {
  readonly name = 'transactions';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('transactions');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const rows = rowsOf(events);
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO transactions (event_id, account_id, kind, amount, reference, reason, occurred_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[])`,
      [
        rows.map((r) => r.f.source.id),
        rows.map((r) => r.f.accountId),
        rows.map((r) => r.kind),
        rows.map((r) => r.amount.toString()),
        rows.map((r) => r.reference),
        rows.map((r) => r.reason),
        rows.map((r) => r.f.occurredAt),
      ],
    );
  }

  /** A rebuild streams the rows with COPY (see bulk.ts). */
  async bulk(ctx: BulkContext): Promise<BulkLoad> {
    const copy = await CopyLoader.open(ctx, 'transactions', ['event_id', 'account_id', 'kind', 'amount', 'reference', 'reason', 'occurred_at']);
    return {
      add: (events) =>
        copy.write(
          rowsOf(events)
            .map((r) => [r.f.source.id, r.f.accountId, r.kind, r.amount.toString(), r.reference, r.reason, r.f.occurredAt].map(copyValue).join('\t') + '\n')
            .join(''),
        ),
      finish: () => copy.end(),
      abort: () => copy.abort(),
    };
  }
}

function rowsOf(events: RecordedEvent[]) {
  return ledgerFacts(events).flatMap((f) => {
    const r = rowOf(f.event);
    return r ? [{ ...r, f }] : [];
  });
}
