/**
 * A random but reproducible ledger workload (seeded), used by the replay-equals-live test and
 * the benchmark: accounts are opened and funded, then holds are placed and settled, voided or
 * expired, with refunds, adjustments and retried commands mixed in. Rejections (no credit, a
 * hold not open) are part of the workload and are counted, not thrown.
 */
import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { AccountCommand } from '../../src/ledger/domain/account.decider';
import { LedgerError } from '../../src/ledger/domain/errors';

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32: fast, and the same sequence for the same seed on every machine
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export interface WorkloadResult {
  commands: number;
  rejected: number;
}

export async function randomWorkload(
  ledger: LedgerService,
  opts: { seed: number; accounts: number; steps: number; concurrency?: number; expiresAt: () => string },
): Promise<WorkloadResult> {
  const rnd = seededRandom(opts.seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const ids = Array.from({ length: opts.accounts }, () => randomUUID());
  const open = new Map<string, string[]>(ids.map((id) => [id, []])); // hold ids per account
  const done: Array<[string, AccountCommand]> = [];
  const result: WorkloadResult = { commands: 0, rejected: 0 };
  const run = async (accountId: string, c: AccountCommand) => {
    result.commands++;
    try {
      await ledger.execute(accountId, c, { actor: 'workload' });
      done.push([accountId, c]);
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err;
      result.rejected++;
    }
  };
  await Promise.all(ids.map((id) => run(id, { type: 'OpenAccount', data: { accountId: id } })));
  await Promise.all(ids.map((id) => run(id, { type: 'PurchaseCredits', data: { paymentId: `pi_${randomUUID()}`, amount: BigInt(1 + Math.floor(rnd() * 50)) * 1_000_000n } })));

  const step = async () => {
    const id = pick(ids);
    const holds = open.get(id)!;
    const r = rnd();
    const amount = BigInt(1 + Math.floor(rnd() * 3_000_000));
    if (r < 0.35) {
      const holdId = randomUUID();
      holds.push(holdId);
      await run(id, { type: 'PlaceHold', data: { holdId, amount, expiresAt: opts.expiresAt() } });
    } else if (r < 0.6 && holds.length > 0) {
      const holdId = holds.splice(Math.floor(rnd() * holds.length), 1)[0];
      await run(id, { type: 'SettleHold', data: { holdId, amount: amount / 2n, usage: { model: pick(['gpt-4o', 'claude-sonnet-4', 'gemini-2.5-pro']), inputTokens: Math.floor(rnd() * 1000), outputTokens: Math.floor(rnd() * 500), cachedTokens: 0, estimated: rnd() < 0.1 } } });
    } else if (r < 0.7 && holds.length > 0) {
      const holdId = holds.splice(Math.floor(rnd() * holds.length), 1)[0];
      await run(id, { type: 'VoidHold', data: { holdId, reason: 'upstream failed' } });
    } else if (r < 0.75 && holds.length > 0) {
      await run(id, { type: 'ExpireHold', data: { holdId: holds.splice(0, 1)[0] } });
    } else if (r < 0.77 && holds.length > 0) {
      // A request still running: its hold's expiry moves two hours on.
      const expiresAt = new Date(Date.now() + 2 * 3_600_000).toISOString();
      await run(id, { type: 'ExtendHold', data: { holdId: pick(holds), expiresAt } });
    } else if (r < 0.82) {
      await run(id, { type: 'GrantCredits', data: { grantId: randomUUID(), amount, reason: 'promo' } });
    } else if (r < 0.88) {
      await run(id, { type: 'RefundCredits', data: { refundId: randomUUID(), amount: amount / 4n + 1n, reason: 'refund' } });
    } else if (r < 0.93) {
      await run(id, { type: 'Adjust', data: { adjustmentId: randomUUID(), amount: rnd() < 0.5 ? amount / 10n + 1n : -(amount / 10n + 1n), reason: 'correction' } });
    } else if (done.length > 0) {
      const [acct, c] = pick(done); // a client retrying an earlier command
      await run(acct, c);
    }
  };
  const concurrency = opts.concurrency ?? 16;
  let left = opts.steps;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await step();
    }),
  );
  return result;
}
