/**
 * What one model costs. Rates are bigint µcr per MILLION tokens ($2.50/M = 2_500_000n), so a
 * price page's figures (at most 4 decimals of a dollar per million) are held exactly.
 */
import { PricingError } from './pricing.errors';

/**
 * Who serves a model. The shipped table prices the first four; 'openai-compatible' is for the
 * models an operator prices for a channel of that kind (a self-hosted or third-party OpenAI API).
 */
export type Provider = 'openai' | 'anthropic' | 'gemini' | 'xai' | 'openai-compatible';
export const PROVIDERS: readonly Provider[] = ['openai', 'anthropic', 'gemini', 'xai', 'openai-compatible'];

/** The proxy endpoints a model may be called on ('generate' is Gemini's generateContent). */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages' | 'generate';
export const ENDPOINTS: readonly Endpoint[] = ['chat', 'completions', 'embeddings', 'responses', 'messages', 'generate'];

export interface TokenRates {
  input: bigint; // uncached input
  output: bigint; // output, reasoning included
  cachedInput: bigint; // cache reads
  cacheWrite: bigint; // input written to the prompt cache
}

/**
 * Some providers charge every token of a request at higher rates once its prompt passes a size
 * (Gemini 2.5 Pro above 200k, Grok 4 above 128k). One flat rate would either undercharge those
 * requests or overcharge all the others, so a model may carry a second set of rates.
 */
export interface LongContextRates extends TokenRates {
  /** The long-context rates apply when input + cached + cache-write tokens exceed this. */
  aboveInputTokens: number;
}

export interface ModelPrice extends TokenRates {
  model: string;
  provider: Provider;
  /** Other names the provider accepts for the same model at the same price (dated snapshots, -latest). */
  aliases?: string[];
  maxOutputTokens: number;
  contextWindow: number;
  /**
   * The most input tokens one image can cost on this model, whatever its size: holds count each
   * image at this, since an image's bytes in the body do not bound its tokens (a small PNG may
   * be a large picture). Absent: an image is held at the whole context window.
   */
  maxImageTokens?: number;
  endpoints?: Endpoint[];
  longContext?: LongContextRates;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const isModelName = (v: unknown): v is string => typeof v === 'string' && MODEL_NAME.test(v);

const RATE_KEYS = ['input', 'output', 'cachedInput', 'cacheWrite'] as const;

/** Checks one model's price; throws PricingError('invalid_price_table') naming what is wrong. */
export function validateModelPrice(p: ModelPrice): ModelPrice {
  const bad = (why: string): never => {
    throw new PricingError('invalid_price_table', `model ${JSON.stringify(p.model)}: ${why}`);
  };
  if (!isModelName(p.model)) bad('not a model name');
  if (p.aliases !== undefined && (!Array.isArray(p.aliases) || !p.aliases.every(isModelName))) bad('an alias is not a model name');
  if (!PROVIDERS.includes(p.provider)) bad(`unknown provider ${String(p.provider)}`);
  for (const k of RATE_KEYS) {
    if (typeof p[k] !== 'bigint' || p[k] < 0n) bad(`${k} must be a non-negative bigint`);
  }
  if (!Number.isSafeInteger(p.maxOutputTokens) || p.maxOutputTokens < 0) bad('maxOutputTokens must be a whole number ≥ 0');
  if (!Number.isSafeInteger(p.contextWindow) || p.contextWindow < 1) bad('contextWindow must be a whole number ≥ 1');
  if (p.maxImageTokens !== undefined && (!Number.isSafeInteger(p.maxImageTokens) || p.maxImageTokens < 1 || p.maxImageTokens > p.contextWindow)) {
    bad('maxImageTokens must be a whole number from 1 to contextWindow');
  }
  if (p.endpoints !== undefined) {
    if (!Array.isArray(p.endpoints) || p.endpoints.some((e) => !ENDPOINTS.includes(e))) bad('unknown endpoint');
  }
  if (p.longContext !== undefined) {
    const lc = p.longContext;
    if (!Number.isSafeInteger(lc.aboveInputTokens) || lc.aboveInputTokens < 0) bad('longContext.aboveInputTokens must be ≥ 0');
    for (const k of RATE_KEYS) {
      // Never cheaper: cost must stay monotone in every token count across the threshold.
      if (typeof lc[k] !== 'bigint' || lc[k] < p[k]) bad(`longContext.${k} must be a bigint ≥ ${k}`);
    }
  }
  return p;
}

/** The rates that apply to a request whose prompt (input + cached + cache-write) has this many tokens. */
export function ratesFor(price: ModelPrice, promptTokens: number | bigint): TokenRates {
  const lc = price.longContext;
  return lc !== undefined && BigInt(promptTokens) > BigInt(lc.aboveInputTokens) ? lc : price;
}
