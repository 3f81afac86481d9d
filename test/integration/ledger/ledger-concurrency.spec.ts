import { randomUUID } from 'node:crypto';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { accountStream } from '../../../src/ledger/domain/events';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';

describe('ledger under concurrency (real Postgres)', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await ledgerHarness();
  });
  afterAll(() => h.close());

  it('200 parallel holds against an account funded for exactly 50 succeed exactly 50 times, across two instances', async () => {
    const account = newAccountId();
    const hold = 1_000_000n; // 1 credit each
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${randomUUID()}`, amount: 50n * hold } });

    const a = h.ledger;
    const b = h.other(); // a second API instance with its own cache: forces real optimistic conflicts
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? a : b).execute(account, {
          type: 'PlaceHold',
          data: { holdId: randomUUID(), amount: hold, expiresAt: inAnHour() },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(50);
    expect(refused).toHaveLength(150);
    refused.forEach((r) => expect((r.reason as LedgerError).code).toBe('insufficient_credits'));

    const { state } = await h.ledger.load(account);
    expect(state.available).toBe(0n);
    expect(state.held).toBe(50n * hold);

    const events = await h.store.readStream(accountStream(account));
    expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => BigInt(i + 1)));
    // Replaying the stream, available never dips below zero at any version.
    let available = 0n;
    for (const e of events) {
      if (e.type === 'CreditsPurchased') available += BigInt(e.data.amount as string);
      if (e.type === 'HoldPlaced') available -= BigInt(e.data.amount as string);
      expect(available >= 0n).toBe(true);
    }
  });

  it('credits one external payment once, however often and wherever it is retried', async () => {
    const account = newAccountId();
    const elsewhere = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(elsewhere, { type: 'OpenAccount', data: { accountId: elsewhere } });
    const paymentId = `pi_${randomUUID()}`;
    const buy = { type: 'PurchaseCredits' as const, data: { paymentId, amount: 7_000_000n } };
    const outcomes = await Promise.all([h.ledger.execute(account, buy), h.other().execute(account, buy), h.ledger.execute(account, buy)]);
    expect(outcomes.filter((o) => !o.idempotent && o.events.length === 1)).toHaveLength(1);
    expect((await h.ledger.load(account)).state.available).toBe(7_000_000n);
    await expect(h.ledger.execute(account, { ...buy, data: { paymentId, amount: 8_000_000n } })).rejects.toMatchObject({
      code: 'idempotency_conflict',
    });
    await expect(h.ledger.execute(elsewhere, buy)).rejects.toMatchObject({ code: 'idempotency_conflict' });
    expect((await h.ledger.load(elsewhere)).state.available).toBe(0n);
  });

  it('answers a command repeated within one group once, and refuses a different one under the same id', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    const fresh = h.other(); // its first call reads the stream, so the rest queue and decide as one group
    const paymentId = `pi_${randomUUID()}`;
    const buy = { type: 'PurchaseCredits' as const, data: { paymentId, amount: 3_000_000n } };
    const results = await Promise.allSettled([
      fresh.execute(account, buy),
      fresh.execute(account, buy),
      fresh.execute(account, { ...buy, data: { paymentId, amount: 4_000_000n } }),
      fresh.execute(account, buy),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const done = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ idempotent: boolean }>).value.idempotent);
    expect(done).toEqual([false, true, true]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'idempotency_conflict' });
    expect((await h.ledger.load(account)).state.available).toBe(3_000_000n);
  });

  it('resolves a hold exactly once: a retried settle is a no-op, a different resolution is refused', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'g1', amount: 10_000_000n, reason: 'test' } });
    const holdId = randomUUID();
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId, amount: 4_000_000n, expiresAt: inAnHour() } });
    const settle = { type: 'SettleHold' as const, data: { holdId, amount: 1_500_000n } };
    const [first, second] = await Promise.all([h.ledger.execute(account, settle), h.other().execute(account, settle)]);
    expect([first.idempotent, second.idempotent].sort()).toEqual([false, true]);
    await expect(h.ledger.execute(account, { type: 'VoidHold', data: { holdId, reason: 'late' } })).rejects.toMatchObject({
      code: 'hold_not_open',
    });
    await expect(h.ledger.execute(account, { ...settle, data: { holdId, amount: 1n } })).rejects.toMatchObject({
      code: 'hold_not_open',
    });
    const { state } = await h.ledger.load(account);
    expect(state.available).toBe(8_500_000n);
    expect(state.held).toBe(0n);
  });

  it('answers a retried hold placement as done, even after the hold was settled and the credit spent', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'g', amount: 5_000_000n, reason: 'test' } });
    const place = { type: 'PlaceHold' as const, data: { holdId: randomUUID(), amount: 5_000_000n, expiresAt: inAnHour() } };
    await h.ledger.execute(account, place);
    await h.ledger.execute(account, { type: 'SettleHold', data: { holdId: place.data.holdId, amount: 5_000_000n } });
    const retry = await h.other().execute(account, place);
    expect(retry).toMatchObject({ idempotent: true, events: [] });
    await expect(h.ledger.execute(account, { ...place, data: { ...place.data, amount: 4_000_000n } })).rejects.toMatchObject({
      code: 'idempotency_conflict',
    });
    await expect(
      h.ledger.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 1n, expiresAt: inAnHour() } }),
    ).rejects.toMatchObject({ code: 'insufficient_credits' });
    expect((await h.ledger.load(account)).state).toMatchObject({ available: 0n, held: 0n });
  });

  it('keeps unrelated accounts apart when many commands arrive together', async () => {
    const accounts = Array.from({ length: 100 }, newAccountId);
    await Promise.all(accounts.map((id) => h.ledger.execute(id, { type: 'OpenAccount', data: { accountId: id } })));
    await Promise.all(
      accounts.map((id, i) =>
        h.ledger.execute(id, { type: 'GrantCredits', data: { grantId: 'g', amount: BigInt(i + 1), reason: 'spread' } }),
      ),
    );
    for (const [i, id] of accounts.entries()) expect((await h.ledger.load(id)).state.available).toBe(BigInt(i + 1));
  });
});
