/**
 * The public price list (GET /api/pricing, the dashboard's /pricing page): every model of the
 * table in force with what a customer pays, margin included, per million tokens. Built from the
 * price table alone, so nothing of a channel (its URL, its upstream key) can reach it; the
 * margin itself and the upstream list prices are not shown either.
 */
import { z } from 'zod';
import { LongContextRates, ModelPrice, TokenRates } from './model-price';
import { PriceTableVersion } from './price-table-version';
import { customerRate } from './price-quotes';

const credits = z.string().describe('credits (1 credit = 1 USD) per million tokens, margin included, an exact decimal string');
const rates = z.object({
  input: credits.describe('uncached input'),
  output: credits.describe('output, reasoning included'),
  cachedInput: credits.describe('input read from the prompt cache'),
  cacheWrite: credits.describe('input written to the prompt cache'),
});
export const publicPricesSchema = z.object({
  priceVersion: z.number().int().describe('the version receipts name (price_version)'),
  effectiveAt: z.iso.datetime(),
  unit: z.literal('credits per million tokens'),
  models: z.array(
    rates.extend({
      model: z.string(),
      provider: z.string(),
      aliases: z.array(z.string()),
      endpoints: z.array(z.string()).nullable().describe('null: every endpoint of its format'),
      contextWindow: z.number().int(),
      maxOutputTokens: z.number().int(),
      longContext: rates
        .extend({ aboveInputTokens: z.number().int().describe('these rates apply to every token of a request whose prompt exceeds this') })
        .nullable(),
    }),
  ),
});
export type PublicPrices = z.infer<typeof publicPricesSchema>;

const ratesOf = (r: TokenRates, marginBps: number) => ({
  input: customerRate(r.input, marginBps),
  output: customerRate(r.output, marginBps),
  cachedInput: customerRate(r.cachedInput, marginBps),
  cacheWrite: customerRate(r.cacheWrite, marginBps),
});

const longOf = (lc: LongContextRates | undefined, marginBps: number) => (lc ? { ...ratesOf(lc, marginBps), aboveInputTokens: lc.aboveInputTokens } : null);

export function publicPrices(table: PriceTableVersion): PublicPrices {
  const m = table.marginBps;
  return {
    priceVersion: table.version,
    effectiveAt: new Date(table.effectiveAt).toISOString(),
    unit: 'credits per million tokens',
    models: table.models().map((p: ModelPrice) => ({
      model: p.model,
      provider: p.provider,
      aliases: [...(p.aliases ?? [])],
      endpoints: p.endpoints ? [...p.endpoints] : null,
      contextWindow: p.contextWindow,
      maxOutputTokens: p.maxOutputTokens,
      ...ratesOf(p, m),
      longContext: longOf(p.longContext, m),
    })),
  };
}
