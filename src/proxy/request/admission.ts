/**
 * What a request must pass before anything is reserved, decided without I/O: the model (known,
 * and allowed to this key), the rate limits it counts against, and the worst case its hold is
 * sized from. The proxy service does the I/O this asks for: the limiter, the spending cap and
 * the reservation (request-charge.ts).
 */
import { AppConfig } from '../../config/config';
import { KeyPrincipal } from '../../keys/application/api-key-authenticator';
import { RequestShape } from '../endpoints';
import { ProxyError, quoted } from '../http/proxy-error';
import { Limit } from '../limits/rate-limiter';
import { worstCaseCost } from '../pricing/cost';
import { ModelPrice } from '../pricing/model-price';

export type AccountLimits = Pick<AppConfig, 'ACCOUNT_RPM' | 'ACCOUNT_TPM'>;

export interface AdmissionTerms {
  /** The counters the request takes from: requests and tokens per minute, per account and per key. */
  limits: Limit[];
  /** What to reserve for it (µcr, margin included); null when the endpoint is not billed. */
  worstCase: bigint | null;
}

/** The model's price, when the table has the model and the key may use it. */
export function admittedPrice(principal: KeyPrincipal, shape: RequestShape, price: ModelPrice | undefined): ModelPrice {
  if (!price) throw new ProxyError('model_not_found', `the model ${quoted(shape.model)} does not exist or is not offered here`, { param: 'model' });
  if (principal.models && !principal.models.includes(shape.model)) {
    throw new ProxyError('model_not_allowed', `this key may not use the model ${quoted(shape.model)}`, { param: 'model' });
  }
  return price;
}

/**
 * The limits and the worst case of one request. `inputTokens` is the bound on its prompt read
 * from the body (metering/input-bound.ts); the output is the request's own limit, never above the
 * model's, once per answer it asks for.
 */
export function admission(
  p: KeyPrincipal,
  shape: RequestShape,
  price: ModelPrice,
  inputTokens: number,
  billed: boolean,
  config: AccountLimits,
  marginBps: number,
): AdmissionTerms {
  const maxOutput = Math.min(shape.maxOutputTokens ?? price.maxOutputTokens, price.maxOutputTokens) * shape.answers;
  const tokens = inputTokens + maxOutput;
  const limits: Limit[] = [
    { label: 'requests per minute for this account', id: `a:${p.accountId}:r`, unit: 'requests', limit: config.ACCOUNT_RPM, cost: 1 },
    { label: 'tokens per minute for this account', id: `a:${p.accountId}:t`, unit: 'tokens', limit: config.ACCOUNT_TPM, cost: tokens },
  ];
  if (p.rpm !== null) limits.push({ label: 'requests per minute for this key', id: `k:${p.keyId}:r`, unit: 'requests', limit: p.rpm, cost: 1 });
  if (p.tpm !== null) limits.push({ label: 'tokens per minute for this key', id: `k:${p.keyId}:t`, unit: 'tokens', limit: p.tpm, cost: tokens });
  // An output bound past 2^53 tokens (a huge `n`) is above every tokens-per-minute limit, so the
  // limiter refuses the request before this figure is used; clamped only so that computing it
  // here, ahead of that refusal, cannot throw.
  const worstCase = billed ? worstCaseCost(price, inputTokens, Math.min(maxOutput, Number.MAX_SAFE_INTEGER), marginBps) : null;
  return { limits, worstCase };
}
