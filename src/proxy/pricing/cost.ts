/**
 * What a request costs, exactly: Σ tokens × rate (µcr per million) × (1 + margin), in bigint,
 * rounded up once at the very end to a whole µcr. Nothing is rounded per token class, so the
 * same usage always costs the same whichever way it is split.
 */
import { divCeil } from '../../shared/money';
import { ModelPrice, ratesFor } from './model-price';
import { PricingError } from './pricing.errors';

/** Tokens of one request, normalised across providers (see src/proxy/metering/usage.ts). */
export interface TokenUsage {
  inputTokens: number; // uncached input that was not written to the cache
  cachedTokens: number; // input read from the prompt cache
  cacheWriteTokens: number; // input written to the prompt cache
  outputTokens: number; // output, reasoning/thinking included
}

const PER_MILLION = 1_000_000n;
const BPS = 10_000n;
/** What the exact numerator is divided by: rates are per million tokens, margins per 10 000. */
export const COST_DENOMINATOR = PER_MILLION * BPS;

function tokens(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new PricingError('invalid_usage', `${what} must be a whole number ≥ 0, got ${n}`);
  return BigInt(n);
}

function margin(marginBps: number): bigint {
  if (!Number.isSafeInteger(marginBps) || marginBps < 0) throw new PricingError('invalid_margin', `marginBps must be a whole number ≥ 0, got ${marginBps}`);
  return BigInt(marginBps);
}

/** The exact cost before rounding, in µcr × COST_DENOMINATOR. */
export function costNumerator(price: ModelPrice, usage: TokenUsage, marginBps: number): bigint {
  const input = tokens(usage.inputTokens, 'inputTokens');
  const cached = tokens(usage.cachedTokens, 'cachedTokens');
  const written = tokens(usage.cacheWriteTokens, 'cacheWriteTokens');
  const output = tokens(usage.outputTokens, 'outputTokens');
  const r = ratesFor(price, input + cached + written);
  const raw = input * r.input + cached * r.cachedInput + written * r.cacheWrite + output * r.output;
  return raw * (BPS + margin(marginBps));
}

/** The cost of a request's usage in µcr, margin included, rounded up once. */
export function costOf(price: ModelPrice, usage: TokenUsage, marginBps: number): bigint {
  return divCeil(costNumerator(price, usage, marginBps), COST_DENOMINATOR);
}

/**
 * An amount with the margin, rounded up to a whole µcr as charges are: how a single rate is
 * quoted with its margin (the model list's prices). A request's cost is not built from these:
 * it rounds once over all its tokens (costOf).
 */
export function withMargin(micros: bigint, marginBps: number): bigint {
  return divCeil(micros * (BPS + margin(marginBps)), BPS);
}

/**
 * The most a request can cost: every input token at the dearest input rate (a prompt may turn
 * out to be cache writes, which some providers charge above plain input) and every allowed
 * output token. A hold of this size is never below the final cost of any usage with at most
 * `inputTokens` prompt tokens and `maxOutputTokens` output tokens.
 */
export function worstCaseCost(price: ModelPrice, inputTokens: number, maxOutputTokens: number, marginBps: number): bigint {
  const input = tokens(inputTokens, 'inputTokens');
  const output = tokens(maxOutputTokens, 'maxOutputTokens');
  const r = ratesFor(price, input);
  let inRate = r.input;
  if (r.cachedInput > inRate) inRate = r.cachedInput;
  if (r.cacheWrite > inRate) inRate = r.cacheWrite;
  return divCeil((input * inRate + output * r.output) * (BPS + margin(marginBps)), COST_DENOMINATOR);
}

const PERCENT = /^(\d{1,3})(?:\.(\d{1,2}))?$/;

/** "7.5" → 750 basis points, exactly (PRICE_MARGIN_PERCENT has this shape). */
export function marginBpsFromPercent(percent: string): number {
  const m = PERCENT.exec(percent.trim());
  if (!m) throw new PricingError('invalid_margin', `not a percentage with at most 2 decimals: ${JSON.stringify(percent)}`);
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}
