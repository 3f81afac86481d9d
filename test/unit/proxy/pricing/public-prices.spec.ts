/**
 * The public price list from one price table: every model, margin included and rounded up to a
 * whole µcr as charges are, long-context rates where a model has them, and nothing else (no
 * margin figure, no upstream list price).
 */
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';
import { SHIPPED_PRICE_TABLE } from '../../../../src/proxy/pricing/price-table';
import { PriceTableVersion } from '../../../../src/proxy/pricing/price-table-version';
import { publicPrices, publicPricesSchema } from '../../../../src/proxy/pricing/public-prices';

const table = (models: readonly ModelPrice[], marginBps: number) =>
  new PriceTableVersion({ version: 7, effectiveAt: '2026-01-01T00:00:00.000Z', marginBps, models: [...models], source: 'operator' } as never);

const odd: ModelPrice = {
  model: 'odd-model',
  provider: 'openai-compatible',
  input: 1n, // 1 µcr per million: with any margin, rounded up to 2
  output: 3_333_333n,
  cachedInput: 0n,
  cacheWrite: 1n,
  maxOutputTokens: 10,
  contextWindow: 100,
};

describe('publicPrices', () => {
  it('lists every model of the table, in its order, and matches its own schema', () => {
    const view = publicPrices(table(SHIPPED_PRICE_TABLE, 2500));
    expect(view.models.map((m) => m.model)).toEqual(table(SHIPPED_PRICE_TABLE, 2500).models().map((m) => m.model));
    expect(view).toMatchObject({ priceVersion: 7, effectiveAt: '2026-01-01T00:00:00.000Z', unit: 'credits per million tokens' });
    expect(publicPricesSchema.safeParse(view).success).toBe(true);
  });

  it('adds the margin and rounds each rate up to a whole µcr, never down', () => {
    const [m] = publicPrices(table([odd], 1)).models; // 0.01 %
    expect(m).toMatchObject({ input: '0.000002', output: '3.333667', cachedInput: '0.000000', cacheWrite: '0.000002', aliases: [], endpoints: null, longContext: null });
    expect(publicPrices(table([odd], 0)).models[0]).toMatchObject({ input: '0.000001', output: '3.333333' });
  });

  it('shows long-context rates with their threshold, and neither the margin nor the upstream price', () => {
    const view = publicPrices(table(SHIPPED_PRICE_TABLE, 1000));
    const grok = view.models.find((m) => m.model === 'grok-4')!;
    expect(grok.longContext).toEqual({ aboveInputTokens: 128_000, input: '6.600000', output: '33.000000', cachedInput: '1.650000', cacheWrite: '6.600000' });
    const text = JSON.stringify(view);
    expect(text).not.toMatch(/margin/i);
    expect(grok.input).toBe('3.300000'); // $3.00 upstream is not shown
    expect(text).not.toMatch(/"3\.000000"/);
  });
});
