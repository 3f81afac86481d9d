/**
 * 300 requests at once from one account funded for exactly 100 worst-case holds: the account is
 * never overdrawn, every accepted request is settled, the rest get 402 and never reach the
 * provider.
 */
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { worstCaseCost } from '../../../src/proxy/pricing/cost';
import { inputTokenBound } from '../../../src/proxy/metering/input-bound';
import { LedgerVerifier } from '../../../src/ledger/application/ledger-verifier';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ReadModels } from '../../../src/ledger/application/read-models';
import { EVENT_STORE } from '../../../src/platform/event-store/event-store.port';

let openGate!: () => void;
const answersMayGo = new Promise<void>((resolve) => (openGate = resolve));

describe('concurrent requests from one account', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  beforeAll(async () => {
    // The provider answers only when the test opens the gate, so all 300 holds are decided
    // before any settles (a fixed delay was not enough on a loaded machine).
    fake = await startFakeUpstream({ gate: answersMayGo });
    gw = await startGateway({ openai: fake, env: { ACCOUNT_RPM: '100000' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('accepts exactly what the credit covers, settles each, refuses the rest with 402', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'how many of us get through' }] };
    const table = gw.app.get(PriceBook).at(new Date());
    const price = table.get('gpt-4o-mini')!;
    const hold = worstCaseCost(price, inputTokenBound('openai.chat', body, Buffer.byteLength(JSON.stringify(body)), price), 1000, table.marginBps);
    const funds = hold * 100n;
    const accountId = await gw.account(funds);
    const { secret } = await gw.key(accountId);

    let refused = 0;
    const statuses = Promise.all(
      Array.from({ length: 300 }, () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then(async (r) => {
          const json = (await r.json()) as { error?: { code?: string } };
          if (r.status !== 200 && ++refused === 200) openGate();
          return r.status === 402 ? `402:${json.error?.code}` : String(r.status);
        }),
      ),
    );
    // Should fewer than 200 be refused, the gate opens after a while and the counts below say so.
    const fallback = setTimeout(openGate, 20_000);
    const all = await statuses;
    clearTimeout(fallback);
    const ok = all.filter((s) => s === '200').length;
    expect(ok).toBe(100);
    expect(all.filter((s) => s === '402:insufficient_credits').length).toBe(200);
    expect(fake.requests.length).toBe(100); // a refused request never reached the provider

    const rows = await gw.requests(accountId, 300);
    const settled = rows.filter((r) => r.billing === 'settled');
    expect(settled.length).toBe(100);
    const spent = settled.reduce((s, r) => s + BigInt(r.cost_micros), 0n);
    expect(spent).toBeGreaterThan(0n);
    const { state } = await gw.app.get(LedgerService).load(accountId);
    expect(state.held).toBe(0n);
    expect(state.available).toBe(funds - spent);
    expect(state.available).toBeGreaterThanOrEqual(0n);
    // The whole log still verifies: hash chains, postings, invariants, and read models that
    // match a replay once the projections have caught up.
    await gw.app.get(ReadModels).bringUpToDate(30_000);
    const report = await new LedgerVerifier(gw.db.pool, gw.app.get(EVENT_STORE)).verify();
    expect(report.problems).toEqual([]);
  });
});
