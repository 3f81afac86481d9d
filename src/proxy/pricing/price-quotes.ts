/**
 * Prices as the proxy quotes them: the table in force for a request (or the 503 a client gets
 * while none is loaded), and a receipt's unit prices. The catalog and the request pipeline both
 * read prices through here, so a model list and a receipt never disagree.
 */
import { formatCredits } from '../../shared/money';
import { proxyErrorFor } from '../http/domain-error-map';
import { withMargin } from './cost';
import { TokenRates } from './model-price';
import { PriceBook } from './price-book.service';
import { PriceTableVersion } from './price-table-version';

/** The price table in force, or 503 while none is known (the database was down at start). */
export function priceTableAt(prices: PriceBook, at: Date): PriceTableVersion {
  try {
    return prices.at(at);
  } catch (err) {
    throw proxyErrorFor(err) ?? err;
  }
}

/** The rates a receipt shows: µcr per million tokens before the margin, and the margin itself. */
export function unitPrices(p: TokenRates, marginBps: number): Record<string, string | number> {
  return {
    input: p.input.toString(),
    output: p.output.toString(),
    cachedInput: p.cachedInput.toString(),
    cacheWrite: p.cacheWrite.toString(),
    per: 'µcr per million tokens',
    marginBps,
  };
}

/**
 * A rate as customers see it (the model list, the public pricing page): credits per million
 * tokens with the margin, rounded up to a whole µcr as charges are, as an exact decimal string.
 */
export function customerRate(rate: bigint, marginBps: number): string {
  return formatCredits(withMargin(rate, marginBps));
}
