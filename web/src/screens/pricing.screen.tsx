/**
 * The public price list (`GET /api/pricing`, no sign-in): every model of the table in force with
 * what a million tokens cost, margin included, cached input and cache writes beside plain input,
 * and the long-context rates where a model has them. Shown signed out too (screens.ts `public`).
 */
import { formatCredits } from '../api/money';
import type { PublicPrices } from '../api/types';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { TableRegion } from '../components/table-region';

const tokens = (n: number) => (n >= 1000 ? `${(n / 1000).toLocaleString('en-US')}k` : String(n));

export function PricingScreen() {
  const prices = useApi<PublicPrices>('/api/pricing');
  const p = prices.data;
  return (
    <div data-ready={p ? 'pricing' : undefined} aria-busy={prices.loading}>
      <h1 tabIndex={-1}>Pricing</h1>
      <p class="sub">
        Prepaid credits (1 credit = 1 USD), charged per token at these rates, margin included, rounded up once per request to a millionth of a credit.
      </p>
      <ErrorMessage error={prices.error} />
      {prices.error && (
        <button type="button" onClick={prices.reload}>
          Try again
        </button>
      )}
      {p && (
        <>
          <p class="sub" data-figure="price-version">
            Price version {p.priceVersion}, in force since {new Date(p.effectiveAt).toISOString().slice(0, 16).replace('T', ' ')} UTC.
          </p>
          <TableRegion label="Prices">
            <table class="pricing">
              <caption>Credits per million tokens</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col" class="num">Input</th>
                  <th scope="col" class="num">Cached input</th>
                  <th scope="col" class="num">Cache write</th>
                  <th scope="col" class="num">Output</th>
                  <th scope="col" class="num">Context</th>
                </tr>
              </thead>
              <tbody>
                {p.models.map((m) => (
                  <tr key={m.model} data-model={m.model}>
                    <th scope="row">
                      {m.model}
                      <span class="sub"> {m.provider}</span>
                      {m.aliases.length > 0 && <span class="sub"> (also {m.aliases.join(', ')})</span>}
                      {m.longContext && (
                        <span class="sub" data-long-context>
                          {' '}
                          Above {tokens(m.longContext.aboveInputTokens)} input tokens: {formatCredits(m.longContext.input)} in, {formatCredits(m.longContext.cachedInput)} cached,{' '}
                          {formatCredits(m.longContext.output)} out.
                        </span>
                      )}
                    </th>
                    <td class="num" data-rate="input">{formatCredits(m.input)}</td>
                    <td class="num" data-rate="cachedInput">{formatCredits(m.cachedInput)}</td>
                    <td class="num" data-rate="cacheWrite">{formatCredits(m.cacheWrite)}</td>
                    <td class="num" data-rate="output">{formatCredits(m.output)}</td>
                    <td class="num">{tokens(m.contextWindow)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        </>
      )}
    </div>
  );
}
