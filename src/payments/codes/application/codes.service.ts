/**
 * Redemption codes: issue, list, revoke (staff, through the CLI, audited) and redeem (the
 * account API). Single use is the event store's: a code's `redemption-<hash>` stream is
 * appended at version 0, so of any number of concurrent claims exactly one wins. The grant's
 * id is `code:<hash>` and the claim's event ids derive from the hash, so a retry after a
 * crash between the claim and the grant completes the grant instead of refusing.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { CLOCK, Clock } from '../../../platform/clock';
import { PG_POOL } from '../../../platform/database/pg';
import { EVENT_STORE, EventIdConflictError, EventStore, LOG_START, VersionConflictError } from '../../../platform/event-store/event-store.port';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { GrantPromoCreditsCommand } from '../../../ledger/application/grant-promo-credits.command';
import { deterministicId } from '../../../shared/ids';
import { MAX_MICROS } from '../../../shared/money';
import {
  BATCH_PREFIX,
  BatchState,
  CodeBatchIssuedData,
  CodesError,
  MAX_CODES_PER_BATCH,
  PREFIX,
  REDEMPTION_PREFIX,
  batchStream,
  claimStream,
  codeHash,
  foldBatch,
  generateCode,
  normaliseCode,
  redemptionStream,
} from '../domain/codes';

export interface IssueInput {
  amount: bigint;
  count: number;
  expiresAt: Date | null;
  prefix: string | null;
  reason: string | null;
  actor: string;
}

export interface BatchSummary {
  batchId: string;
  amount: bigint;
  count: number;
  redeemed: number;
  expiresAt: Date | null;
  revoked: boolean;
  revokedCodes: number;
}

const invalid = () => new CodesError('code_invalid', 'this code cannot be redeemed');
const PAGE = 1000;

@Injectable()
export class CodesService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: StaffAudit,
    private readonly commands: CommandBus,
  ) {}

  /** The codes, in clear, exactly once: here. */
  async issue(input: IssueInput): Promise<{ batchId: string; codes: string[] }> {
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > MAX_CODES_PER_BATCH) {
      throw new CodesError('invalid_command', `count must be 1 to ${MAX_CODES_PER_BATCH}`);
    }
    if (input.amount <= 0n || input.amount > MAX_MICROS) throw new CodesError('invalid_command', 'amount must be more than 0 and within the ledger bound');
    if (input.prefix !== null && !PREFIX.test(input.prefix)) throw new CodesError('invalid_command', 'prefix must be 1 to 8 letters or digits');
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now().getTime()) throw new CodesError('invalid_command', 'expires must be in the future');
    const batchId = randomUUID();
    const codes = new Set<string>();
    while (codes.size < input.count) codes.add(generateCode(input.prefix));
    const list = [...codes];
    const hashes = list.map((c) => codeHash(normaliseCode(c) as string));
    await this.audit.record({
      actor: input.actor,
      action: 'codes.issue',
      subjectUserId: null,
      reason: input.reason,
      details: { batchId, count: input.count, amount: input.amount.toString() },
    });
    // The lookup rows first: a crash before the event leaves rows of a batch that does not
    // exist (its codes answer code_invalid), never an issued code that cannot be found.
    await this.index(batchId, hashes);
    const data: CodeBatchIssuedData = { batchId, amount: input.amount.toString(), hashes, expiresAt: input.expiresAt?.toISOString() ?? null, prefix: input.prefix };
    await this.store.append(batchStream(batchId), [{ id: randomUUID(), type: 'CodeBatchIssued', data: { ...data }, metadata: { actor: input.actor } }], {
      expectedVersion: 'no_stream',
    });
    return { batchId, codes: list };
  }

  async list(): Promise<BatchSummary[]> {
    const batches = new Map<string, BatchState>();
    const redeemed = new Map<string, number>();
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: PAGE, streamPrefixes: [BATCH_PREFIX, REDEMPTION_PREFIX] });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.streamId.startsWith(BATCH_PREFIX)) {
          const id = e.streamId.slice(BATCH_PREFIX.length);
          const prior = batches.get(id);
          const events = prior ? [] : [e];
          const next = prior ? foldOnto(prior, e) : foldBatch(events);
          if (next) batches.set(id, next);
        } else if (e.type === 'CodeRedeemed') {
          const b = String(e.data.batchId);
          redeemed.set(b, (redeemed.get(b) ?? 0) + 1);
        }
      }
      after = page[page.length - 1].position;
    }
    return [...batches.values()].map((b) => ({
      batchId: b.batchId,
      amount: b.amount,
      count: b.hashes.size,
      redeemed: redeemed.get(b.batchId) ?? 0,
      expiresAt: b.expiresAt,
      revoked: b.revoked,
      revokedCodes: b.revokedHashes.size,
    }));
  }

  async revokeBatch(batchId: string, actor: string, reason: string | null): Promise<void> {
    const batch = await this.batch(batchId);
    if (!batch) throw new CodesError('batch_not_found', `no batch ${batchId}`);
    await this.audit.record({ actor, action: 'codes.revoke', subjectUserId: null, reason, details: { batchId } });
    await this.store.append(batchStream(batchId), [{ id: deterministicId(`codebatch-revoked:${batchId}`), type: 'CodeBatchRevoked', data: { batchId } }], { expectedVersion: 'stream_exists' });
  }

  async revokeCode(code: string, actor: string, reason: string | null): Promise<{ batchId: string }> {
    const normalised = normaliseCode(code);
    const hash = normalised ? codeHash(normalised) : null;
    const batchId = hash ? await this.batchOf(hash) : null;
    if (!hash || !batchId) throw new CodesError('batch_not_found', 'no such code');
    await this.audit.record({ actor, action: 'codes.revoke', subjectUserId: null, reason, details: { batchId, codeHash: hash } });
    await this.store.append(batchStream(batchId), [{ id: deterministicId(`code-revoked:${hash}`), type: 'CodeRevoked', data: { hash } }], { expectedVersion: 'stream_exists' });
    return { batchId };
  }

  /** Claims the code for the account and credits it; the amount and the balance after. */
  async redeem(accountId: string, code: string): Promise<{ amount: bigint; available: bigint }> {
    const normalised = normaliseCode(code);
    if (!normalised) throw invalid();
    const hash = codeHash(normalised);
    const batchId = await this.batchOf(hash);
    const batch = batchId ? await this.batch(batchId) : null;
    if (!batch || !batch.hashes.has(hash)) throw invalid();

    const redemption = redemptionStream(hash);
    const prior = await this.store.readStream(redemption, { limit: 1 });
    const owner = prior.length > 0 ? String(prior[0].data.accountId) : null;
    if (owner !== null && owner !== accountId) throw invalid();
    if (owner === null) {
      // A retry of our own claim skips these: it completes the grant whatever happened since.
      if (batch.revoked || batch.revokedHashes.has(hash)) throw invalid();
      if (batch.expiresAt && batch.expiresAt.getTime() <= this.clock.now().getTime()) throw new CodesError('code_expired', 'this code has expired');
    }
    // The batch first (one code per account per batch), then the code: so a code is never taken
    // by an account the batch then refuses (two codes of one batch redeemed at once by one
    // account used to leave the second spent and uncredited).
    await this.claimBatch(batch.batchId, accountId, hash);
    if (owner === null) {
      try {
        await this.store.append(redemption, [{ id: deterministicId(`redeemed:${hash}`), type: 'CodeRedeemed', data: { hash, batchId: batch.batchId, accountId } }], {
          expectedVersion: 0n,
        });
      } catch (err) {
        // Another account's claim won (the same id with other data): our batch claim names a
        // code we did not get, and a later claim of this account replaces it (claimBatch).
        if (err instanceof VersionConflictError || err instanceof EventIdConflictError) throw invalid();
        throw err;
      }
    }
    const { available } = await this.commands.execute(
      new GrantPromoCreditsCommand(accountId, { grantId: `code:${hash}`, amount: batch.amount, reason: `redemption code (batch ${batch.batchId})` }, { actor: `account:${accountId}` }),
    );
    return { amount: batch.amount, available };
  }

  /**
   * This account's one claim on the batch, for this code: the stream `redemption-claim-<batch>-<account>`
   * holds its claims in order, and the last one counts. A claim naming another code stands while
   * that code is this account's or not yet anyone's (its redemption may be under way): refused.
   * It came to nothing when that code went to another account: then it is replaced.
   */
  private async claimBatch(batchId: string, accountId: string, hash: string): Promise<void> {
    const stream = claimStream(batchId, accountId);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const claims = await this.store.readStream(stream);
      const last = claims[claims.length - 1];
      if (last) {
        const claimed = String(last.data.hash);
        if (claimed === hash) return; // ours already (a retry)
        const [holder] = await this.store.readStream(redemptionStream(claimed), { limit: 1 });
        if (!holder || holder.data.accountId === accountId) throw alreadyRedeemed();
      }
      try {
        await this.store.append(stream, [{ id: deterministicId(`claim:${batchId}:${accountId}:${hash}`), type: 'BatchClaimed', data: { hash, batchId } }], {
          expectedVersion: last ? last.streamVersion : 0n,
        });
        return;
      } catch (err) {
        if (!(err instanceof VersionConflictError || err instanceof EventIdConflictError)) throw err;
        // Another redemption by this account wrote its claim first: look again.
      }
    }
    throw alreadyRedeemed();
  }

  private async batch(batchId: string): Promise<BatchState | null> {
    return foldBatch(await this.store.readStream(batchStream(batchId)));
  }

  private async batchOf(hash: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ batch_id: string }>('SELECT batch_id FROM redemption_codes WHERE code_hash = $1', [hash]);
    return rows[0]?.batch_id ?? null;
  }

  private async index(batchId: string, hashes: string[]): Promise<void> {
    for (let i = 0; i < hashes.length; i += PAGE) {
      const slice = hashes.slice(i, i + PAGE);
      await this.pool.query('INSERT INTO redemption_codes (code_hash, batch_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING', [slice, batchId]);
    }
  }
}

/** Claims of one account on one batch raced this often in a row: refused rather than retried on. */
const CLAIM_ATTEMPTS = 5;

const alreadyRedeemed = () => new CodesError('batch_already_redeemed', 'this account has already redeemed a code of this batch');

function foldOnto(state: BatchState, e: { type: string; data: Record<string, unknown> }): BatchState {
  if (e.type === 'CodeBatchRevoked') state.revoked = true;
  else if (e.type === 'CodeRevoked') state.revokedHashes.add(String(e.data.hash));
  return state;
}
