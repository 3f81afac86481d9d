/**
 * A request whose worst case passes the ledger's bound (10^15 µcr): the hold is refused by the
 * decider (amount_out_of_range), and the client gets the same 402 insufficient_credits answer
 * as for any hold its credit cannot cover, in its own API's error shape; never a 500.
 */
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { DEFAULT_MODEL, FORMATS, Format, expectGatewayError, expectSdkError, rawCall, sdkError } from '../../support/proxy-formats';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { SHIPPED_PRICE_TABLE } from '../../../src/proxy/pricing/price-table';
import { MAX_MICROS } from '../../../src/shared/money';

let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake });
  // An operator's table with absurd output prices for the test models: 10^14 credits per
  // output token, so a worst case of a few dozen tokens is far past the bound.
  const models = Object.values(DEFAULT_MODEL);
  const absurd = SHIPPED_PRICE_TABLE.map((p) => (models.includes(p.model) ? { ...p, output: 10n ** 20n * 1_000_000n } : p));
  await gw.app.get(PriceBook).publish(absurd, { effectiveAt: new Date(), marginBps: 0 });
  await new Promise((r) => setTimeout(r, 20)); // in force from the next millisecond on
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

describe.each(FORMATS)('%s format', (format: Format) => {
  it('402 insufficient_credits for a worst case past the bound, even with the most credit an account can hold', async () => {
    const accountId = await gw.account(MAX_MICROS, 0);
    const { secret } = await gw.key(accountId);
    const before = fake.requests.length;
    const raw = await rawCall(gw.url, format, { secret });
    expectGatewayError(raw, format, 402, 'insufficient_credits');
    expect(raw.text).toContain('1,000,000,000 credits');
    expectSdkError(await sdkError(gw.url, secret, format), format, 402);
    expect(fake.requests.length).toBe(before);
    expect(await gw.available(accountId)).toBe(MAX_MICROS);
  });
});
