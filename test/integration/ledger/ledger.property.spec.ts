/**
 * Property: random command sequences through the real service, event store and read models
 * (two service instances, so cached states go stale and conflicts are real) agree at every
 * step with a plain reference model, and at the end the balances read model, the trial
 * balance and `verify` agree too. Holds that expired are settled late at times (a settle after
 * the expiry): what available credit cannot cover is owed, and later credit repays it first.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { LedgerReadRepository } from '../../../src/ledger/application/ledger-read.repository';
import { LedgerVerifier } from '../../../src/ledger/application/ledger-verifier';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { AccountCommand } from '../../../src/ledger/domain/account.decider';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { LedgerHarness, ledgerHarness } from '../../support/ledger-harness';

type Op =
  | { kind: 'purchase'; key: number; amount: bigint }
  | { kind: 'grant'; key: number; amount: bigint }
  | { kind: 'hold'; amount: bigint; expired: boolean }
  | { kind: 'holdAll' } // a hold of all that is available, so that a late settle finds too little
  | { kind: 'settleExpired'; pick: number; permille: number } // a settle of a hold that expired, if any
  | { kind: 'outage'; permille: number } // a hold that expires, the credit spent, then its late settle (see expand)
  | { kind: 'settle'; pick: number; permille: number }
  | { kind: 'void'; pick: number }
  | { kind: 'expire'; pick: number }
  | { kind: 'refund'; amount: bigint }
  | { kind: 'adjust'; amount: bigint }
  | { kind: 'retry'; pick: number };

/** An outage: one hold expires while its settle waits, the account spends all it has, the settle arrives. */
function expand(ops: Op[]): Op[] {
  return ops.flatMap((o, i): Op[] =>
    o.kind !== 'outage'
      ? [o]
      : [
          { kind: 'purchase', key: 100 + i, amount: 1_000_000n },
          { kind: 'hold', amount: 1_000_000n, expired: true },
          { kind: 'expire', pick: 1 },
          { kind: 'holdAll' },
          { kind: 'settleExpired', pick: i, permille: o.permille },
        ],
  );
}

const money = fc.bigInt({ min: 0n, max: 5_000_000n });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('purchase' as const), key: fc.nat(3), amount: money }),
  fc.record({ kind: fc.constant('grant' as const), key: fc.nat(3), amount: money }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hold' as const), amount: money, expired: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), permille: fc.integer({ min: 0, max: 1100 }) }) },
  fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }),
  { weight: 2, arbitrary: fc.constant({ kind: 'holdAll' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settleExpired' as const), pick: fc.nat(), permille: fc.integer({ min: 0, max: 1100 }) }) },
  fc.record({ kind: fc.constant('outage' as const), permille: fc.integer({ min: 0, max: 1100 }) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('expire' as const), pick: fc.nat() }) },
  fc.record({ kind: fc.constant('refund' as const), amount: money }),
  fc.record({ kind: fc.constant('adjust' as const), amount: fc.bigInt({ min: -3_000_000n, max: 3_000_000n }) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }) },
);

/** The reference: what a careful person with a notebook would say each command does. */
class Model {
  available = 0n;
  held = 0n;
  receivable = 0n;
  open = new Map<string, { amount: bigint; expired: boolean }>();
  resolved = new Map<string, { type: string; cost: bigint; amount: bigint }>();

  /** Applies a command and, while the account owes, repays from what became available. */
  apply(c: AccountCommand): boolean {
    const ok = this.applyOne(c);
    const repaid = this.receivable < this.available ? this.receivable : this.available;
    this.available -= repaid;
    this.receivable -= repaid;
    return ok;
  }

  payments = new Map<string, bigint>();
  grants = new Map<string, bigint>();

  /** Applies a command; returns false when the ledger must refuse it. */
  private applyOne(c: AccountCommand): boolean {
    switch (c.type) {
      case 'PurchaseCredits':
      case 'GrantCredits': {
        const seen = c.type === 'PurchaseCredits' ? this.payments : this.grants;
        const key = c.type === 'PurchaseCredits' ? c.data.paymentId : c.data.grantId;
        if (c.data.amount <= 0n) return false;
        if (seen.has(key)) return seen.get(key) === c.data.amount; // a retry, or a conflicting reuse
        seen.set(key, c.data.amount);
        this.available += c.data.amount;
        return true;
      }
      case 'PlaceHold':
        if (c.data.amount <= 0n || c.data.amount > this.available) return false;
        this.open.set(c.data.holdId, { amount: c.data.amount, expired: Date.parse(c.data.expiresAt) < Date.now() });
        this.available -= c.data.amount;
        this.held += c.data.amount;
        return true;
      case 'SettleHold':
      case 'VoidHold':
      case 'ExpireHold': {
        const hold = this.open.get(c.data.holdId);
        const cost = c.type === 'SettleHold' ? c.data.amount : 0n;
        if (!hold) {
          const before = this.resolved.get(c.data.holdId);
          if (before?.type === 'ExpireHold' && c.type === 'SettleHold') {
            // Settled late: charged from available, the rest owed.
            if (cost < 0n || cost > before.amount) return false;
            const paid = cost < this.available ? cost : this.available;
            this.available -= paid;
            this.receivable += cost - paid;
            this.resolved.set(c.data.holdId, { type: 'SettledLate', cost, amount: before.amount });
            return true;
          }
          if (before?.type === 'ExpireHold' && c.type === 'VoidHold') return true; // nothing left to void
          // After a late settle: its retry is done already; an expiry again is a retry of the expiry.
          if (before?.type === 'SettledLate') return c.type === 'ExpireHold' || (c.type === 'SettleHold' && before.cost === cost);
          // Resolving a closed hold again the same way is a retry: done already. Any other way: refused.
          return before !== undefined && before.type === c.type && before.cost === cost;
        }
        if (cost < 0n || cost > hold.amount || (c.type === 'ExpireHold' && !hold.expired)) return false;
        this.open.delete(c.data.holdId);
        this.resolved.set(c.data.holdId, { type: c.type, cost, amount: hold.amount });
        this.held -= hold.amount;
        this.available += hold.amount - cost;
        return true;
      }
      case 'RefundCredits':
        if (c.data.amount <= 0n || c.data.amount > this.available) return false;
        this.available -= c.data.amount;
        return true;
      case 'Adjust':
        if (c.data.amount === 0n || this.available + c.data.amount < 0n) return false;
        this.available += c.data.amount;
        return true;
      default:
        return false;
    }
  }
}

describe('ledger property: service + store + read models vs a reference model', () => {
  let h: LedgerHarness;
  let other: LedgerService;
  let runner: ProjectionRunner;
  let reads: LedgerReadRepository;

  beforeAll(async () => {
    h = await ledgerHarness();
    other = h.other();
    runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 10 });
    await runner.start();
    reads = new LedgerReadRepository(h.db.pool);
  });
  afterAll(async () => {
    await runner.stop();
    await h.close();
  });

  it('agrees after every command, and the read models agree at the end', async () => {
    let owed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40, size: 'max' }), async (ops) => {
        const account = randomUUID();
        const model = new Model();
        const services = [h.ledger, other];
        await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
        const holds: string[] = [];
        const done: AccountCommand[] = []; // accepted settles, voids, purchases, grants: safe to retry
        for (const [i, o] of expand(ops).entries()) {
          if (isRetry(o) && done.length === 0) continue;
          const command = toCommand(o, account, holds, done, model);
          // A void of a hold that had expired changes nothing: no retry to check (and after a late settle, refused).
          const retryable = command.type !== 'VoidHold' || model.open.has(command.data.holdId);
          const accepted = isRetry(o) ? true : model.apply(command);
          let ok = true;
          try {
            await services[i % 2].execute(account, command);
          } catch (err) {
            if (!(err instanceof LedgerError)) throw err;
            ok = false;
          }
          expect({ op: o.kind, ok }).toEqual({ op: o.kind, ok: accepted });
          if (ok && !isRetry(o) && retryable && ['SettleHold', 'VoidHold', 'PurchaseCredits', 'GrantCredits'].includes(command.type)) done.push(command);
          const { state } = await services[(i + 1) % 2].load(account);
          expect([state.available, state.held, state.receivable]).toEqual([model.available, model.held, model.receivable]);
          if (state.receivable > 0n) owed++;
        }
        await runner.caughtUp();
        const b = await reads.balance(account);
        expect([b.available, b.held, b.receivable]).toEqual([model.available, model.held, model.receivable]);
      }),
      { numRuns: 25 },
    );
    // The runs must have reached debts, or the property says nothing about them.
    expect(owed).toBeGreaterThan(0);
    const { rows } = await h.db.pool.query<{ type: string; n: number }>(
      "SELECT type, count(*)::int AS n FROM events WHERE type IN ('HoldSettledLate', 'ReceivableRepaid') GROUP BY type ORDER BY type",
    );
    expect(rows.map((r) => [r.type, r.n > 0])).toEqual([['HoldSettledLate', true], ['ReceivableRepaid', true]]);
    expect((await reads.trialBalance()).total).toBe(0n);
    expect((await new LedgerVerifier(h.db.pool, h.store).verify()).problems).toEqual([]);
  });
});

const isRetry = (o: Op) => o.kind === 'retry';

function toCommand(o: Op, account: string, holds: string[], done: AccountCommand[], model: Model): AccountCommand {
  const pickHold = (n: number) => holds[n % Math.max(holds.length, 1)] ?? 'no-such-hold';
  switch (o.kind) {
    case 'purchase':
      return { type: 'PurchaseCredits', data: { paymentId: `pi_${account}_${o.key}`, amount: o.amount } };
    case 'grant':
      return { type: 'GrantCredits', data: { grantId: `g${o.key}`, amount: o.amount, reason: 'property' } };
    case 'hold': {
      const holdId = randomUUID();
      holds.push(holdId);
      const expiresAt = new Date(Date.now() + (o.expired ? -60_000 : 3_600_000)).toISOString();
      return { type: 'PlaceHold', data: { holdId, amount: o.amount, expiresAt } };
    }
    case 'holdAll': {
      const holdId = randomUUID();
      holds.push(holdId);
      return { type: 'PlaceHold', data: { holdId, amount: model.available, expiresAt: new Date(Date.now() + 3_600_000).toISOString() } };
    }
    case 'settle':
    case 'settleExpired': {
      const expiredIds = [...model.resolved].filter(([, r]) => r.type === 'ExpireHold').map(([id]) => id);
      const holdId = o.kind === 'settleExpired' && expiredIds.length > 0 ? expiredIds[o.pick % expiredIds.length] : pickHold(o.pick);
      const expired = model.resolved.get(holdId);
      const held = model.open.get(holdId)?.amount ?? (expired?.type === 'ExpireHold' ? expired.amount : undefined);
      // A cost around the held amount (over it when permille > 1000); for a closed hold, a new cost.
      return { type: 'SettleHold', data: { holdId, amount: held === undefined ? BigInt(o.permille) + 7n : (held * BigInt(o.permille)) / 1000n } };
    }
    case 'void':
      return { type: 'VoidHold', data: { holdId: pickHold(o.pick), reason: 'property' } };
    case 'expire': {
      // Mostly a hold whose expiry has passed (so that late settles have holds to find).
      const due = [...model.open].filter(([, h]) => h.expired).map(([id]) => id);
      const holdId = due.length > 0 && o.pick % 4 !== 0 ? due[o.pick % due.length] : pickHold(o.pick);
      return { type: 'ExpireHold', data: { holdId } };
    }
    case 'refund':
      return { type: 'RefundCredits', data: { refundId: randomUUID(), amount: o.amount, reason: 'property' } };
    case 'adjust':
      return { type: 'Adjust', data: { adjustmentId: randomUUID(), amount: o.amount, reason: 'property' } };
    case 'outage':
      throw new Error('expanded before');
    case 'retry':
      // Retrying an accepted purchase, grant, settle or void changes nothing and succeeds.
      return done[o.pick % done.length];
  }
}
