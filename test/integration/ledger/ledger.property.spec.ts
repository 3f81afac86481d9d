/**
 * Property: random command sequences through the real service, event store and read models
 * (two service instances, so cached states go stale and conflicts are real) agree at every
 * step with a plain reference model, and at the end the balances read model, the trial
 * balance and `verify` agree too.
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
  | { kind: 'settle'; pick: number; permille: number }
  | { kind: 'void'; pick: number }
  | { kind: 'expire'; pick: number }
  | { kind: 'refund'; amount: bigint }
  | { kind: 'adjust'; amount: bigint }
  | { kind: 'retry'; pick: number };

const money = fc.bigInt({ min: 0n, max: 5_000_000n });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('purchase' as const), key: fc.nat(3), amount: money }),
  fc.record({ kind: fc.constant('grant' as const), key: fc.nat(3), amount: money }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hold' as const), amount: money, expired: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), permille: fc.integer({ min: 0, max: 1100 }) }) },
  fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('expire' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('refund' as const), amount: money }),
  fc.record({ kind: fc.constant('adjust' as const), amount: fc.bigInt({ min: -3_000_000n, max: 3_000_000n }) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat() }) },
);

/** The reference: what a careful person with a notebook would say each command does. */
class Model {
  available = 0n;
  held = 0n;
  open = new Map<string, { amount: bigint; expired: boolean }>();
  resolved = new Map<string, { type: string; cost: bigint }>();
  payments = new Map<string, bigint>();
  grants = new Map<string, bigint>();

  /** Applies a command; returns false when the ledger must refuse it. */
  apply(c: AccountCommand): boolean {
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
          // Resolving a closed hold again the same way is a retry: done already. Any other way: refused.
          const before = this.resolved.get(c.data.holdId);
          return before !== undefined && before.type === c.type && before.cost === cost;
        }
        if (cost < 0n || cost > hold.amount || (c.type === 'ExpireHold' && !hold.expired)) return false;
        this.open.delete(c.data.holdId);
        this.resolved.set(c.data.holdId, { type: c.type, cost });
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
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const account = randomUUID();
        const model = new Model();
        const services = [h.ledger, other];
        await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
        const holds: string[] = [];
        const done: AccountCommand[] = []; // accepted settles, voids, purchases, grants: safe to retry
        for (const [i, o] of ops.entries()) {
          if (isRetry(o) && done.length === 0) continue;
          const command = toCommand(o, account, holds, done, model);
          const accepted = isRetry(o) ? true : model.apply(command);
          let ok = true;
          try {
            await services[i % 2].execute(account, command);
          } catch (err) {
            if (!(err instanceof LedgerError)) throw err;
            ok = false;
          }
          expect({ op: o.kind, ok }).toEqual({ op: o.kind, ok: accepted });
          if (ok && !isRetry(o) && ['SettleHold', 'VoidHold', 'PurchaseCredits', 'GrantCredits'].includes(command.type)) done.push(command);
          const { state } = await services[(i + 1) % 2].load(account);
          expect([state.available, state.held]).toEqual([model.available, model.held]);
        }
        await runner.caughtUp();
        const b = await reads.balance(account);
        expect([b.available, b.held]).toEqual([model.available, model.held]);
      }),
      { numRuns: 25 },
    );
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
    case 'settle': {
      const holdId = pickHold(o.pick);
      const held = model.open.get(holdId)?.amount;
      // A cost around the held amount (over it when permille > 1000); for a closed hold, a new cost.
      return { type: 'SettleHold', data: { holdId, amount: held === undefined ? BigInt(o.permille) + 7n : (held * BigInt(o.permille)) / 1000n } };
    }
    case 'void':
      return { type: 'VoidHold', data: { holdId: pickHold(o.pick), reason: 'property' } };
    case 'expire':
      return { type: 'ExpireHold', data: { holdId: pickHold(o.pick) } };
    case 'refund':
      return { type: 'RefundCredits', data: { refundId: randomUUID(), amount: o.amount, reason: 'property' } };
    case 'adjust':
      return { type: 'Adjust', data: { adjustmentId: randomUUID(), amount: o.amount, reason: 'property' } };
    case 'retry':
      // Retrying an accepted purchase, grant, settle or void changes nothing and succeeds.
      return done[o.pick % done.length];
  }
}
