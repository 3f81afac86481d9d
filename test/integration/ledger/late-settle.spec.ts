/**
 * Late settles through the real service, event store and read models (issue 17): a settle that
 * finds its hold expired charges once, late; retries are answered idempotently by any instance;
 * what could not be paid is owed and repaid first from the next credit; the read models show it.
 */
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { LedgerReadRepository } from '../../../src/ledger/application/ledger-read.repository';
import { LedgerVerifier } from '../../../src/ledger/application/ledger-verifier';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { LATE_SETTLE_WINDOW_MS } from '../../../src/ledger/domain/account.decider';
import { UsageFigures, accountStream, encodeLedgerEvent } from '../../../src/ledger/domain/events';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';

const usage: UsageFigures = { model: 'late-model', inputTokens: 40, outputTokens: 9, cachedTokens: 0, estimated: false };
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('late settles and receivables (real Postgres)', () => {
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

  /** An account with 1.000000 whose hold h1 (0.600000) expired, then h2 took 0.900000 of it. */
  async function expiredThenSpent(): Promise<string> {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 1_000_000n } });
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `h1-${account}`, amount: 600_000n, expiresAt: ago(1000) } });
    await h.ledger.execute(account, { type: 'ExpireHold', data: { holdId: `h1-${account}` } });
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `h2-${account}`, amount: 900_000n, expiresAt: inAnHour() } });
    return account;
  }
  const settleH1 = (account: string, amount = 250_000n) => ({
    type: 'SettleHold' as const,
    data: { holdId: `h1-${account}`, amount, upstreamCost: 50_000n, usage },
  });

  it('charges the expired hold once, late: what is available pays, the rest is owed, and the read models show it', async () => {
    const account = await expiredThenSpent();
    const first = await h.ledger.execute(account, settleH1(account));
    expect(first.events).toEqual([
      { type: 'HoldSettledLate', data: { holdId: `h1-${account}`, amount: 250_000n, paid: 100_000n, owed: 150_000n, upstreamCost: 50_000n, usage } },
    ]);
    // The same settle again, on this instance or another (a journal replayed anywhere): done already.
    expect(await h.ledger.execute(account, settleH1(account))).toMatchObject({ events: [], idempotent: true });
    expect(await other.execute(account, settleH1(account))).toMatchObject({ events: [], idempotent: true });
    // Another settle, or a void, of the same hold: refused.
    await expect(other.execute(account, settleH1(account, 1n))).rejects.toMatchObject({ code: 'hold_not_open' });
    await expect(other.execute(account, { type: 'VoidHold', data: { holdId: `h1-${account}`, reason: 'x' } })).rejects.toMatchObject({
      code: 'hold_not_open',
    });

    await runner.caughtUp();
    expect(await reads.balance(account)).toMatchObject({ available: 0n, held: 900_000n, receivable: 150_000n });
    const { rows: bal } = await h.db.pool.query('SELECT lifetime_spent FROM rm_balances.balances WHERE account_id = $1', [account]);
    expect(bal[0].lifetime_spent).toBe(250_000n);
    const { rows: usageRows } = await h.db.pool.query('SELECT model, requests, input_tokens, output_tokens, cost FROM rm_daily_usage.daily_usage WHERE account_id = $1', [account]);
    expect(usageRows).toEqual([{ model: 'late-model', requests: 1n, input_tokens: 40n, output_tokens: 9n, cost: 250_000n }]);
    // The expired hold is not listed as open again (the expiry sweep must not find it).
    const { rows: open } = await h.db.pool.query('SELECT hold_id FROM rm_open_holds.open_holds WHERE account_id = $1', [account]);
    expect(open).toEqual([{ hold_id: `h2-${account}` }]);
    const { rows: tx } = await h.db.pool.query("SELECT kind, amount, reference FROM rm_transactions.transactions WHERE account_id = $1 AND kind LIKE 'receivable%'", [account]);
    expect(tx).toEqual([{ kind: 'receivable', amount: -150_000n, reference: `h1-${account}` }]);
  });

  it('repays the debt first from the next credit and from released holds, never suspending the account', async () => {
    const account = await expiredThenSpent();
    await h.ledger.execute(account, settleH1(account));
    await runner.caughtUp();
    const owing = new Date();
    await new Promise((r) => setTimeout(r, 5));

    const credit = await other.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi2_${account}`, amount: 100_000n } });
    expect(credit.events.map((e) => e.type)).toEqual(['CreditsPurchased', 'ReceivableRepaid']);
    // Still owing 50,000 with nothing available: a hold is refused for credit, not for the debt.
    await expect(h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `h3-${account}`, amount: 1n, expiresAt: inAnHour() } })).rejects.toMatchObject({
      code: 'insufficient_credits',
    });
    // h2's 900,000 come back: 50,000 repay the rest, 850,000 are available, and holds work again.
    await h.ledger.execute(account, { type: 'VoidHold', data: { holdId: `h2-${account}`, reason: 'upstream failed' } });
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `h3-${account}`, amount: 850_000n, expiresAt: inAnHour() } });

    await runner.caughtUp();
    expect(await reads.balance(account)).toMatchObject({ available: 0n, held: 850_000n, receivable: 0n });
    expect(await reads.balance(account, owing)).toMatchObject({ available: 0n, held: 900_000n, receivable: 150_000n });
    const { rows: tx } = await h.db.pool.query(
      "SELECT kind, amount, reference FROM rm_transactions.transactions WHERE account_id = $1 AND kind LIKE 'receivable%' ORDER BY occurred_at, kind",
      [account],
    );
    expect(tx).toEqual([
      { kind: 'receivable', amount: -150_000n, reference: `h1-${account}` },
      { kind: 'receivable_repaid', amount: 100_000n, reference: `pi2_${account}` },
      { kind: 'receivable_repaid', amount: 50_000n, reference: `h2-${account}` },
    ]);
    expect((await reads.trialBalance()).total).toBe(0n);
  });

  it('a retried credit is answered as done even when the debt it would repay has changed since', async () => {
    const account = await expiredThenSpent();
    await h.ledger.execute(account, settleH1(account));
    const purchase = { type: 'PurchaseCredits' as const, data: { paymentId: `pi3_${account}`, amount: 100_000n } };
    await h.ledger.execute(account, purchase); // repays 100,000 of 150,000
    // The debt is now 50,000: the retry decides another repayment, but the purchase is the same one.
    const retry = await other.execute(account, purchase);
    expect(retry).toMatchObject({ events: [], idempotent: true });
    // A different purchase under the same id is still a conflict.
    await expect(other.execute(account, { ...purchase, data: { ...purchase.data, amount: 7n } })).rejects.toMatchObject({ code: 'idempotency_conflict' });
    const { state } = await h.ledger.load(account);
    expect([state.available, state.receivable]).toEqual([0n, 50_000n]);
  });

  it('the instance that placed the hold settles late when another expired it (its cached state still had it open)', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 1_000_000n } });
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `h1-${account}`, amount: 600_000n, expiresAt: ago(1000) } });
    expect(h.ledger.cachedState(account)?.holds.has(`h1-${account}`)).toBe(true);
    // The worker (another instance) expires it while this one could not write its settle.
    await other.execute(account, { type: 'ExpireHold', data: { holdId: `h1-${account}` } });
    const late = await h.ledger.execute(account, settleH1(account));
    expect(late.events.map((e) => e.type)).toEqual(['HoldSettledLate']);
    expect(await h.ledger.execute(account, settleH1(account))).toMatchObject({ events: [], idempotent: true });
    const { state } = await other.load(account);
    expect([state.available, state.receivable, state.lifetimeSpent]).toEqual([750_000n, 0n, 250_000n]);
  });

  it('a void of an expired hold has nothing to do; an expiry retried after a late settle is done already', async () => {
    const account = await expiredThenSpent();
    expect(await other.execute(account, { type: 'VoidHold', data: { holdId: `h1-${account}`, reason: 'x' } })).toMatchObject({ events: [] });
    await h.ledger.execute(account, settleH1(account));
    expect(await other.execute(account, { type: 'ExpireHold', data: { holdId: `h1-${account}` } })).toMatchObject({ events: [], idempotent: true });
  });

  it('refuses, with late_settle_window_passed, a settle later than the window after the expiry', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 1_000_000n } });
    const old = `old-${account}`;
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: old, amount: 10n, expiresAt: ago(LATE_SETTLE_WINDOW_MS + 60_000) } });
    await h.ledger.execute(account, { type: 'ExpireHold', data: { holdId: old } });
    // The refusal is logged (an answer that goes unbilled), with ids only.
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      await expect(h.ledger.execute(account, { type: 'SettleHold', data: { holdId: old, amount: 5n } })).rejects.toMatchObject({
        code: 'late_settle_window_passed',
      });
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`account ${account}: hold ${old} cannot be settled late.*unbilled`)));
    } finally {
      warn.mockRestore();
    }
    // Once later expiries have made the state forget it, the refusal is the same (found from the log).
    for (let i = 0; i < 64; i++) {
      await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `n${i}-${account}`, amount: 1n, expiresAt: ago(1000) } });
      await h.ledger.execute(account, { type: 'ExpireHold', data: { holdId: `n${i}-${account}` } });
    }
    expect((await other.load(account)).state.expired.has(old)).toBe(false);
    await expect(other.execute(account, { type: 'SettleHold', data: { holdId: old, amount: 5n } })).rejects.toMatchObject({
      code: 'late_settle_window_passed',
    });
    const { state } = await h.ledger.load(account);
    expect([state.available, state.receivable, state.lifetimeSpent]).toEqual([1_000_000n, 0n, 0n]);
  });

  it('late settles racing credits on two instances: charged once each, the ledger verifies (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: 0n, max: 600_000n }), { minLength: 1, maxLength: 4 }), fc.bigInt({ min: 1n, max: 400_000n }), async (costs, credit) => {
        const account = newAccountId();
        await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
        await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 600_000n * BigInt(costs.length) } });
        for (const [i] of costs.entries()) {
          await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `${account}-${i}`, amount: 600_000n, expiresAt: ago(1000) } });
        }
        for (const [i] of costs.entries()) await h.ledger.execute(account, { type: 'ExpireHold', data: { holdId: `${account}-${i}` } });
        await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: `${account}-all`, amount: 600_000n * BigInt(costs.length) - 1n, expiresAt: inAnHour() } });
        const services = [h.ledger, other];
        await Promise.all([
          ...costs.flatMap((amount, i) =>
            [0, 1].map((s) => services[(i + s) % 2].execute(account, { type: 'SettleHold', data: { holdId: `${account}-${i}`, amount } })),
          ),
          other.execute(account, { type: 'GrantCredits', data: { grantId: 'race', amount: credit, reason: 'race' } }),
        ]);
        const total = costs.reduce((t, c) => t + c, 0n);
        const { state } = await h.ledger.load(account);
        // Every cost charged once: 1 µcr was left, then `credit` came; what is charged beyond is owed.
        const net = 1n + credit - total;
        expect(state.available - state.receivable).toBe(net);
        expect(state.receivable === 0n || state.available === 0n).toBe(true);
        expect(state.lifetimeSpent).toBe(total);
      }),
      { numRuns: 8 },
    );
    await runner.caughtUp();
    expect((await new LedgerVerifier(h.db.pool, h.store).verify()).problems).toEqual([]);
  });

  // Last: it leaves the log with events the decider would never write.
  it('verify names a late settle of a hold that never expired, and credit left available while owing', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    const forged = [
      { type: 'HoldSettledLate' as const, data: { holdId: `never-${account}`, amount: 10n, paid: 0n, owed: 10n, upstreamCost: 0n, usage: null } },
      { type: 'CreditsGranted' as const, data: { grantId: 'g', amount: 4n, reason: 'forged' } },
    ];
    await h.store.append(
      accountStream(account),
      forged.map((e) => ({ id: randomUUID(), ...encodeLedgerEvent(e), metadata: { occurredAt: new Date().toISOString() } })),
      { expectedVersion: 'any' },
    );
    await runner.caughtUp();
    const { problems } = await new LedgerVerifier(h.db.pool, h.store).verify();
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`account ${account} v\\d+ HoldSettledLate: hold never-${account} settled late but not expired`)),
      expect.stringMatching(new RegExp(`account ${account} v\\d+ CreditsGranted: 0.000004 available while 0.000010 is owed \\(not repaid first\\)`)),
    ]);
  });
});
