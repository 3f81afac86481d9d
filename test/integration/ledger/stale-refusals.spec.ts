/**
 * A refusal is never decided on a cached state alone (issue 16, part 2): an instance that cached
 * an account must see what another process wrote since — a grant, a hold expired by the worker,
 * free requests granted — before it answers "no".
 */
import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { BillingService } from '../../../src/proxy/billing/billing.service';
import { AppConfig } from '../../../src/config/config';
import { systemClock } from '../../../src/platform/clock';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';
import { LedgerCommandBus, ledgerCommandBus } from '../../support/ledger-command-bus';

describe('refusals read the stream first (real Postgres, two instances)', () => {
  let h: LedgerHarness;
  let bus: LedgerCommandBus; // the billing instance's way to send ledger commands, to h.ledger
  beforeAll(async () => {
    h = await ledgerHarness();
    bus = await ledgerCommandBus(h.ledger);
  });
  afterAll(async () => {
    await bus.close();
    await h.close();
  });

  /** An account with no free requests and `credits` µcr, cached by `api` (it has refused once). */
  async function cachedBroke(api: LedgerService, credits = 0n): Promise<string> {
    const account = newAccountId();
    await api.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    if (credits > 0n) await api.execute(account, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: credits, reason: 'test' } });
    await expect(
      api.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: credits + 1n, expiresAt: inAnHour() } }),
    ).rejects.toMatchObject({ code: 'insufficient_credits' });
    return account;
  }

  it('a grant written by another process is spendable at once', async () => {
    const api = h.ledger;
    const account = await cachedBroke(api);
    await h.other().execute(account, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 2_000n, reason: 'cli grant' } });
    const placed = await api.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 2_000n, expiresAt: inAnHour() } });
    expect(placed.events.map((e) => e.type)).toEqual(['HoldPlaced']);
  });

  it('credit returned by a hold that a separate worker expired is spendable at once', async () => {
    const api = h.ledger;
    const account = newAccountId();
    await api.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await api.execute(account, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 5_000n, reason: 'test' } });
    const holdId = randomUUID();
    const past = new Date(Date.now() - 1_000).toISOString();
    await api.execute(account, { type: 'PlaceHold', data: { holdId, amount: 5_000n, expiresAt: past } });
    // The worker (another process) expires it; the API's cached state still shows it held.
    await h.other().execute(account, { type: 'ExpireHold', data: { holdId } });
    const placed = await api.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 5_000n, expiresAt: inAnHour() } });
    expect(placed.events).toHaveLength(1);
    expect((await api.load(account)).state.held).toBe(5_000n);
  });

  it('a refusal that still stands after reading the stream is answered with the fresh figures', async () => {
    const api = h.ledger;
    const account = await cachedBroke(api, 1_000n);
    await h.other().execute(account, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 500n, reason: 'small grant' } });
    await expect(
      api.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 10_000n, expiresAt: inAnHour() } }),
    ).rejects.toMatchObject({ code: 'insufficient_credits', details: { available: 1_500n, needed: 10_000n } });
  });

  it('an account opened by another process after this one looked is found', async () => {
    const api = h.ledger;
    const account = newAccountId();
    await expect(api.execute(account, { type: 'UseFreeRequest', data: { requestId: randomUUID() } })).rejects.toMatchObject({
      code: 'account_not_found',
    });
    await h.other().execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await expect(api.execute(account, { type: 'UseFreeRequest', data: { requestId: randomUUID() } })).resolves.toMatchObject({
      idempotent: false,
    });
  });

  it('a group of commands decided together is decided again on the fresh state, each exactly once', async () => {
    const api = h.ledger;
    const account = await cachedBroke(api);
    await h.other().execute(account, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 3_000n, reason: 'grant' } });
    // Queued together behind one append: the first is refused on the cached state, which
    // makes the lane read the stream and decide all of them again.
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        api.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 1_000n, expiresAt: inAnHour() } }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
    const { state } = await h.other().load(account);
    expect(state.held).toBe(3_000n);
    expect(state.available).toBe(0n);
  });

  it('the proxy uses free requests granted elsewhere instead of refusing with 402', async () => {
    const config = { HOLD_TTL_SECONDS: 600 } as AppConfig;
    const api = h.ledger;
    const billing = new BillingService(bus.commands, api, systemClock, config);
    const account = newAccountId();
    const keyId = randomUUID();
    await api.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 1 } });
    await expect(billing.reserve(account, randomUUID(), 10n, keyId)).resolves.toEqual({ kind: 'free' });
    await expect(billing.reserve(account, randomUUID(), 10n, keyId)).rejects.toMatchObject({ code: 'insufficient_credits' });
    await h.other().execute(account, { type: 'GrantFreeRequests', data: { grantId: randomUUID(), count: 1 } });
    await expect(billing.reserve(account, randomUUID(), 10n, keyId)).resolves.toEqual({ kind: 'free' });
  });
});
