/**
 * Event ids unique across the whole log, which EventStoreDB does not enforce: its own check
 * only compares ids with the events at the expected revision of the same stream, so the same
 * id could land twice in two streams, and a different payload under a known id would not be
 * noticed. There are no multi-stream transactions in this client to tie an index row to the
 * event, so uniqueness comes from a claim, written before the event, in a stream of its own:
 * `tollgate-eventid-<id>`, created with NO_STREAM so that only one writer can create it.
 *
 * A claim names the slot the event will take: stream, `after` (the stream's version the
 * claimant saw, so its batch is written with expectedRevision after-1 and starts at revision
 * `after`) and the event's revision. Reading that range of the stream then tells the state:
 * - stored:  the event at the slot has the id (the claim's payload can be checked there);
 * - dead:    another batch took revision `after`, so the claimant's write can never succeed,
 *            and the claim may be replaced (appended at the claim stream's exact revision);
 * - pending: nothing at `after` yet, so the claimant may still write. A writer with the same
 *            stream, slot and payload (a retry) may write too: both use the same expected
 *            revision, so at most one lands. Anyone else waits until it is stored or dead.
 * A claim is only replaced once dead, so the last claim always points at the event if it exists.
 */
import { createHash } from 'node:crypto';
import { EventStoreDBClient, jsonEvent, NO_STREAM, WrongExpectedVersionError } from '@eventstore/db-client';
import { canonicalJson } from '../canonical';
import { NewEvent, RecordedEvent } from '../event-store.port';
import { CLAIM_STREAM_PREFIX, lastRecord, readRecords, toRecorded } from './esdb-records';

const CLAIM_TYPE = 'TollgateEventIdClaimed';

type Claim = { streamId: string; after: string; slot: string; type: string; dataHash: string };

export type ClaimState =
  | { kind: 'none' }
  | { kind: 'stored'; event: RecordedEvent }
  | { kind: 'dead'; claimRevision: bigint }
  | { kind: 'pending'; claim: Claim };

export type ClaimOutcome =
  | { kind: 'ok' }
  /** Some id is claimed by an append that may still land: look again shortly. */
  | { kind: 'wait' }
  /** Some ids exist already: their events, by position in the batch (undefined: not stored). */
  | { kind: 'stored'; prior: Array<RecordedEvent | undefined> };

export const claimStream = (id: string) => `${CLAIM_STREAM_PREFIX}${id}`;

function claimFor(streamId: string, e: NewEvent, after: bigint, slot: bigint): Claim {
  const dataHash = createHash('sha256').update(canonicalJson(e.data)).digest('hex');
  return { streamId, after: after.toString(), slot: slot.toString(), type: e.type, dataHash };
}

const sameClaim = (a: Claim, b: Claim) =>
  a.streamId === b.streamId && a.after === b.after && a.slot === b.slot && a.type === b.type && a.dataHash === b.dataHash;

export class IdClaims {
  constructor(private readonly client: EventStoreDBClient) {}

  async state(id: string): Promise<ClaimState> {
    const last = await lastRecord(this.client, claimStream(id));
    if (!last) return { kind: 'none' };
    const claim = last.data as Claim;
    const after = BigInt(claim.after);
    const slot = BigInt(claim.slot);
    const landed = await readRecords(this.client, claim.streamId, after, slot - after + 1n);
    if (landed.length === 0) return { kind: 'pending', claim };
    const at = landed.find((r) => r.revision === slot);
    if (at && at.id === id) return { kind: 'stored', event: toRecorded(at) };
    return { kind: 'dead', claimRevision: last.revision };
  }

  /** The stored event with this id, if any (pending and dead claims are not events). */
  async stored(id: string): Promise<RecordedEvent | undefined> {
    const s = await this.state(id);
    return s.kind === 'stored' ? s.event : undefined;
  }

  /** Claims every event of a batch about to be written to `streamId` at version `after`. */
  async acquire(streamId: string, events: NewEvent[], after: bigint): Promise<ClaimOutcome> {
    const outcomes = await Promise.all(
      events.map((e, i) => this.acquireOne(e.id, claimFor(streamId, e, after, after + BigInt(i)))),
    );
    if (outcomes.some((o) => o.kind === 'stored')) {
      return { kind: 'stored', prior: outcomes.map((o) => (o.kind === 'stored' ? o.event : undefined)) };
    }
    return outcomes.some((o) => o.kind === 'wait') ? { kind: 'wait' } : { kind: 'ok' };
  }

  private async acquireOne(
    id: string,
    claim: Claim,
  ): Promise<{ kind: 'ok' } | { kind: 'wait' } | { kind: 'stored'; event: RecordedEvent }> {
    let expected: bigint | typeof NO_STREAM = NO_STREAM;
    // Each turn either writes the claim or learns why not; losing to another claimant more
    // than a few times in a row means the id is contended: let the caller wait and retry.
    for (let turn = 0; turn < 4; turn++) {
      if (await this.write(id, claim, expected)) return { kind: 'ok' };
      const s = await this.state(id);
      if (s.kind === 'stored') return s;
      if (s.kind === 'pending') return sameClaim(s.claim, claim) ? { kind: 'ok' } : { kind: 'wait' };
      expected = s.kind === 'dead' ? s.claimRevision : NO_STREAM;
    }
    return { kind: 'wait' };
  }

  private async write(id: string, claim: Claim, expectedRevision: bigint | typeof NO_STREAM): Promise<boolean> {
    try {
      const result = await this.client.appendToStream(claimStream(id), jsonEvent({ type: CLAIM_TYPE, data: claim }), {
        expectedRevision,
      });
      return result.success; // false only when the connection string sets throwOnAppendFailure=false
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) return false;
      throw err;
    }
  }
}
