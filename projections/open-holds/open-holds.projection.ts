import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, foldingBulkLoad } from '../bulk';

type Change =
  | { open: true; accountId: string; amount: bigint; expiresAt: string }
  | { open: false }
  | { open: 'extended'; expiresAt: string }; // placed earlier, still open: its row's expiry moves

/** Net effect of a run of events: holds to add, holds (placed earlier) to remove, expiries to move. */
function fold(changes: Map<string, Change>, events: RecordedEvent[]): void {
  for (const f of ledgerFacts(events)) {
    const e = f.event;
    if (e.type === 'HoldPlaced') {
      changes.set(e.data.holdId, { open: true, accountId: f.accountId, amount: e.data.amount, expiresAt: e.data.expiresAt });
    } else if (e.type === 'HoldExtended') {
      const c = changes.get(e.data.holdId);
      if (c?.open === true) c.expiresAt = e.data.expiresAt;
      else if (c === undefined || c.open === 'extended') changes.set(e.data.holdId, { open: 'extended', expiresAt: e.data.expiresAt });
    } else if (e.type === 'HoldSettled' || e.type === 'HoldVoided' || e.type === 'HoldExpired') {
      // (A late settle, HoldSettledLate, follows the HoldExpired that closed the hold: nothing to do.)
      // Placed in this run: it never needs a row. Placed before: its row goes.
      if (changes.get(e.data.holdId)?.open === true) changes.delete(e.data.holdId);
      else changes.set(e.data.holdId, { open: false });
    }
  }
}

async function write(client: PoolClient, changes: Map<string, Change>): Promise<void> {
  const opened: Array<[string, Extract<Change, { open: true }>]> = [];
  const closed: string[] = [];
  const extended: Array<[string, string]> = [];
  for (const [id, c] of changes) {
    if (c.open === true) opened.push([id, c]);
    else if (c.open === 'extended') extended.push([id, c.expiresAt]);
    else closed.push(id);
  }
  if (opened.length) {
    await client.query(
      `INSERT INTO open_holds (hold_id, account_id, amount, expires_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
       ON CONFLICT (hold_id) DO NOTHING`,
      [opened.map(([id]) => id), opened.map(([, c]) => c.accountId), opened.map(([, c]) => c.amount.toString()), opened.map(([, c]) => c.expiresAt)],
    );
  }
  if (closed.length) await client.query('DELETE FROM open_holds WHERE hold_id = ANY($1::text[])', [closed]);
  if (extended.length) {
    await client.query(
      `UPDATE open_holds h SET expires_at = v.expires_at
         FROM unnest($1::text[], $2::timestamptz[]) AS v(hold_id, expires_at)
        WHERE h.hold_id = v.hold_id`,
      [extended.map(([id]) => id), extended.map(([, at]) => at)],
    );
  }
}

export class OpenHoldsProjection implements Projection {
  readonly name = 'open_holds';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('open-holds');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const changes = new Map<string, Change>();
    fold(changes, events);
    if (changes.size) await write(client, changes);
  }

  bulk(ctx: BulkContext): BulkLoad {
    return foldingBulkLoad(ctx, 200_000, fold, write);
  }
}
