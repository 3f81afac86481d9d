/**
 * The price table Tollgate ships: list prices (standard tier, pay as you go) of the current
 * models of OpenAI, Anthropic, Google and xAI, in dollars per million tokens as their price
 * pages print them. The API publishes it as a PriceTablePublished event at start when it
 * differs from the last shipped table (see price-book.service.ts); operators publish their own
 * tables the same way, and the newest one in force prices each request.
 *
 * Figures: as the pages below stated them in November 2025, written down from those pages
 * without a live check (this build has no network). Check them against the pages before
 * relying on them; a corrected table is one `publish` away and needs no release.
 *   OpenAI     https://platform.openai.com/docs/pricing            (Standard tier)
 *   Anthropic  https://docs.claude.com/en/docs/about-claude/pricing (5-minute cache writes)
 *   Google     https://ai.google.dev/gemini-api/docs/pricing        (paid tier, text/image/video input)
 *   xAI        https://docs.x.ai/docs/models
 *
 * Where a provider does not charge cache writes separately (OpenAI, Google, xAI), cacheWrite
 * is the input rate; where a model has no prompt caching, cachedInput is the input rate.
 * What the rates cannot express, and so is not charged: Anthropic 1-hour cache writes above the
 * 5-minute rate, Gemini audio input above the text rate, server-side tools billed per call
 * (web search, xAI live-search sources). maxOutputTokens that a provider does not publish
 * (xAI) are conservative guesses, marked below.
 *
 * maxImageTokens (what a hold counts per image, see metering/estimate.ts) is the dearest image
 * each provider's page describes, rounded up: OpenAI ~1,450 (gpt-4o, 8 tiles) and ~3,800
 * (gpt-4.1-nano, 1,536 patches × 2.46); Anthropic ~1,600 (images are scaled to fit); Gemini
 * 258 per 768-px tile of an image scaled to at most 3072 px (16 tiles, ~4,130); xAI publishes
 * nothing (GUESS).
 */
import { parseCredits } from '../../shared/money';
import { Endpoint, LongContextRates, ModelPrice, Provider } from './model-price';

export const SHIPPED_PRICES_AS_OF = '2025-11';

interface Row {
  model: string;
  aliases?: string[];
  input: string; // $ per million tokens
  cachedInput?: string; // default: input (no caching discount)
  cacheWrite?: string; // default: input (no cache-write surcharge)
  output: string;
  maxOutputTokens: number;
  contextWindow: number;
  endpoints: Endpoint[];
  longContext?: { aboveInputTokens: number; input: string; cachedInput?: string; cacheWrite?: string; output: string };
}

const MAX_IMAGE_TOKENS: Record<Provider, number> = { openai: 4_000, anthropic: 2_000, gemini: 4_500, xai: 5_000 /* GUESS */, 'openai-compatible': 5_000 };

// "$2.50 per million" → 2_500_000n µcr per million: the same exact parse as an amount of credits.
const usd = (s: string): bigint => parseCredits(s);

function price(provider: Provider, r: Row): ModelPrice {
  const p: ModelPrice = {
    model: r.model,
    provider,
    input: usd(r.input),
    output: usd(r.output),
    cachedInput: usd(r.cachedInput ?? r.input),
    cacheWrite: usd(r.cacheWrite ?? r.input),
    maxOutputTokens: r.maxOutputTokens,
    contextWindow: r.contextWindow,
    maxImageTokens: Math.min(MAX_IMAGE_TOKENS[provider], r.contextWindow),
    endpoints: r.endpoints,
  };
  if (r.aliases) p.aliases = r.aliases;
  if (r.longContext) {
    const lc = r.longContext;
    const long: LongContextRates = {
      aboveInputTokens: lc.aboveInputTokens,
      input: usd(lc.input),
      output: usd(lc.output),
      cachedInput: usd(lc.cachedInput ?? lc.input),
      cacheWrite: usd(lc.cacheWrite ?? lc.input),
    };
    p.longContext = long;
  }
  return p;
}

const OPENAI_TEXT: Endpoint[] = ['chat', 'responses'];
const ANTHROPIC: Endpoint[] = ['messages', 'chat']; // chat: called through the OpenAI format, translated
const GEMINI: Endpoint[] = ['generate', 'chat'];
const XAI: Endpoint[] = ['chat'];

const openai = (r: Row) => price('openai', r);
const anthropic = (r: Row) => price('anthropic', r);
const gemini = (r: Row) => price('gemini', r);
const xai = (r: Row) => price('xai', r);

const GPT5 = { maxOutputTokens: 128_000, contextWindow: 400_000, endpoints: OPENAI_TEXT };
const GPT41 = { maxOutputTokens: 32_768, contextWindow: 1_047_576, endpoints: OPENAI_TEXT };
const O_SERIES = { maxOutputTokens: 100_000, contextWindow: 200_000, endpoints: OPENAI_TEXT };
const EMBEDDING = { output: '0', maxOutputTokens: 0, contextWindow: 8_191, endpoints: ['embeddings'] as Endpoint[] };
const CLAUDE = { contextWindow: 200_000, endpoints: ANTHROPIC };
// Claude Sonnet 4 / 4.5 with the 1M-context beta: prompts over 200k are charged at these rates,
// and the context window is 1M (a hold capped at 200k would fall short of such a prompt).
const SONNET_1M = { aboveInputTokens: 200_000, input: '6.00', cacheWrite: '7.50', cachedInput: '0.60', output: '22.50' };
const SONNET = { contextWindow: 1_000_000, endpoints: ANTHROPIC, longContext: SONNET_1M };
const GEMINI_1M = { contextWindow: 1_048_576, endpoints: GEMINI };

export const SHIPPED_PRICE_TABLE: readonly ModelPrice[] = Object.freeze([
  // OpenAI
  openai({ model: 'gpt-5.1', aliases: ['gpt-5.1-2025-11-13'], input: '1.25', cachedInput: '0.125', output: '10.00', ...GPT5 }),
  openai({ model: 'gpt-5', aliases: ['gpt-5-2025-08-07'], input: '1.25', cachedInput: '0.125', output: '10.00', ...GPT5 }),
  openai({ model: 'gpt-5-mini', aliases: ['gpt-5-mini-2025-08-07'], input: '0.25', cachedInput: '0.025', output: '2.00', ...GPT5 }),
  openai({ model: 'gpt-5-nano', aliases: ['gpt-5-nano-2025-08-07'], input: '0.05', cachedInput: '0.005', output: '0.40', ...GPT5 }),
  openai({ model: 'gpt-5-chat-latest', input: '1.25', cachedInput: '0.125', output: '10.00', maxOutputTokens: 16_384, contextWindow: 128_000, endpoints: OPENAI_TEXT }),
  openai({ model: 'gpt-5-codex', input: '1.25', cachedInput: '0.125', output: '10.00', ...GPT5, endpoints: ['responses'] }),
  openai({ model: 'gpt-4.1', aliases: ['gpt-4.1-2025-04-14'], input: '2.00', cachedInput: '0.50', output: '8.00', ...GPT41 }),
  openai({ model: 'gpt-4.1-mini', aliases: ['gpt-4.1-mini-2025-04-14'], input: '0.40', cachedInput: '0.10', output: '1.60', ...GPT41 }),
  openai({ model: 'gpt-4.1-nano', aliases: ['gpt-4.1-nano-2025-04-14'], input: '0.10', cachedInput: '0.025', output: '0.40', ...GPT41 }),
  openai({ model: 'gpt-4o', aliases: ['gpt-4o-2024-08-06', 'gpt-4o-2024-11-20'], input: '2.50', cachedInput: '1.25', output: '10.00', maxOutputTokens: 16_384, contextWindow: 128_000, endpoints: OPENAI_TEXT }),
  // The first gpt-4o snapshot kept its launch price; listed so it is not priced as gpt-4o.
  openai({ model: 'gpt-4o-2024-05-13', input: '5.00', output: '15.00', maxOutputTokens: 4_096, contextWindow: 128_000, endpoints: OPENAI_TEXT }),
  openai({ model: 'gpt-4o-mini', aliases: ['gpt-4o-mini-2024-07-18'], input: '0.15', cachedInput: '0.075', output: '0.60', maxOutputTokens: 16_384, contextWindow: 128_000, endpoints: OPENAI_TEXT }),
  openai({ model: 'o3', aliases: ['o3-2025-04-16'], input: '2.00', cachedInput: '0.50', output: '8.00', ...O_SERIES }),
  openai({ model: 'o4-mini', aliases: ['o4-mini-2025-04-16'], input: '1.10', cachedInput: '0.275', output: '4.40', ...O_SERIES }),
  openai({ model: 'o3-mini', aliases: ['o3-mini-2025-01-31'], input: '1.10', cachedInput: '0.55', output: '4.40', ...O_SERIES }),
  openai({ model: 'o1', aliases: ['o1-2024-12-17'], input: '15.00', cachedInput: '7.50', output: '60.00', ...O_SERIES }),
  openai({ model: 'gpt-3.5-turbo', aliases: ['gpt-3.5-turbo-0125'], input: '0.50', output: '1.50', maxOutputTokens: 4_096, contextWindow: 16_385, endpoints: ['chat'] }),
  openai({ model: 'gpt-3.5-turbo-instruct', input: '1.50', output: '2.00', maxOutputTokens: 4_096, contextWindow: 4_096, endpoints: ['completions'] }),
  openai({ model: 'text-embedding-3-small', input: '0.02', ...EMBEDDING }),
  openai({ model: 'text-embedding-3-large', input: '0.13', ...EMBEDDING }),
  openai({ model: 'text-embedding-ada-002', input: '0.10', ...EMBEDDING }),

  // Anthropic: input, 5-minute cache write (1.25 × input), cache hit (0.1 × input), output.
  anthropic({ model: 'claude-opus-4-5', aliases: ['claude-opus-4-5-20251101'], input: '5.00', cacheWrite: '6.25', cachedInput: '0.50', output: '25.00', maxOutputTokens: 64_000, ...CLAUDE }),
  anthropic({ model: 'claude-opus-4-1', aliases: ['claude-opus-4-1-20250805'], input: '15.00', cacheWrite: '18.75', cachedInput: '1.50', output: '75.00', maxOutputTokens: 32_000, ...CLAUDE }),
  anthropic({ model: 'claude-opus-4', aliases: ['claude-opus-4-0', 'claude-opus-4-20250514'], input: '15.00', cacheWrite: '18.75', cachedInput: '1.50', output: '75.00', maxOutputTokens: 32_000, ...CLAUDE }),
  anthropic({ model: 'claude-sonnet-4-5', aliases: ['claude-sonnet-4-5-20250929'], input: '3.00', cacheWrite: '3.75', cachedInput: '0.30', output: '15.00', maxOutputTokens: 64_000, ...SONNET }),
  anthropic({ model: 'claude-sonnet-4', aliases: ['claude-sonnet-4-0', 'claude-sonnet-4-20250514'], input: '3.00', cacheWrite: '3.75', cachedInput: '0.30', output: '15.00', maxOutputTokens: 64_000, ...SONNET }),
  anthropic({ model: 'claude-3-7-sonnet', aliases: ['claude-3-7-sonnet-latest', 'claude-3-7-sonnet-20250219'], input: '3.00', cacheWrite: '3.75', cachedInput: '0.30', output: '15.00', maxOutputTokens: 64_000, ...CLAUDE }),
  anthropic({ model: 'claude-haiku-4-5', aliases: ['claude-haiku-4-5-20251001'], input: '1.00', cacheWrite: '1.25', cachedInput: '0.10', output: '5.00', maxOutputTokens: 64_000, ...CLAUDE }),
  anthropic({ model: 'claude-3-5-haiku', aliases: ['claude-3-5-haiku-latest', 'claude-3-5-haiku-20241022'], input: '0.80', cacheWrite: '1.00', cachedInput: '0.08', output: '4.00', maxOutputTokens: 8_192, ...CLAUDE }),

  // Google: output includes thinking tokens. 2.5 Pro and 3 Pro charge more above 200k prompt tokens.
  gemini({ model: 'gemini-3-pro-preview', input: '2.00', cachedInput: '0.20', output: '12.00', maxOutputTokens: 65_536, ...GEMINI_1M,
    longContext: { aboveInputTokens: 200_000, input: '4.00', cachedInput: '0.40', output: '18.00' } }),
  gemini({ model: 'gemini-2.5-pro', input: '1.25', cachedInput: '0.125', output: '10.00', maxOutputTokens: 65_536, ...GEMINI_1M,
    longContext: { aboveInputTokens: 200_000, input: '2.50', cachedInput: '0.25', output: '15.00' } }),
  gemini({ model: 'gemini-2.5-flash', input: '0.30', cachedInput: '0.03', output: '2.50', maxOutputTokens: 65_536, ...GEMINI_1M }),
  gemini({ model: 'gemini-2.5-flash-lite', input: '0.10', cachedInput: '0.01', output: '0.40', maxOutputTokens: 65_536, ...GEMINI_1M }),
  gemini({ model: 'gemini-2.0-flash', aliases: ['gemini-2.0-flash-001'], input: '0.10', cachedInput: '0.025', output: '0.40', maxOutputTokens: 8_192, ...GEMINI_1M }),
  gemini({ model: 'gemini-2.0-flash-lite', aliases: ['gemini-2.0-flash-lite-001'], input: '0.075', output: '0.30', maxOutputTokens: 8_192, ...GEMINI_1M }),

  // xAI: reasoning tokens are billed as output. xAI publishes no output limits: the ones here
  // are guesses that size holds when a request sets no max_tokens (GUESS).
  xai({ model: 'grok-4', aliases: ['grok-4-0709', 'grok-4-latest'], input: '3.00', cachedInput: '0.75', output: '15.00', maxOutputTokens: 64_000 /* GUESS */, contextWindow: 256_000, endpoints: XAI,
    longContext: { aboveInputTokens: 128_000, input: '6.00', cachedInput: '1.50', output: '30.00' } }),
  xai({ model: 'grok-4-fast-reasoning', input: '0.20', cachedInput: '0.05', output: '0.50', maxOutputTokens: 64_000 /* GUESS */, contextWindow: 2_000_000, endpoints: XAI,
    longContext: { aboveInputTokens: 128_000, input: '0.40', cachedInput: '0.10', output: '1.00' } }),
  xai({ model: 'grok-4-fast-non-reasoning', input: '0.20', cachedInput: '0.05', output: '0.50', maxOutputTokens: 64_000 /* GUESS */, contextWindow: 2_000_000, endpoints: XAI,
    longContext: { aboveInputTokens: 128_000, input: '0.40', cachedInput: '0.10', output: '1.00' } }),
  xai({ model: 'grok-code-fast-1', input: '0.20', cachedInput: '0.02', output: '1.50', maxOutputTokens: 64_000 /* GUESS */, contextWindow: 256_000, endpoints: XAI }),
  xai({ model: 'grok-3', aliases: ['grok-3-latest'], input: '3.00', cachedInput: '0.75', output: '15.00', maxOutputTokens: 32_768 /* GUESS */, contextWindow: 131_072, endpoints: XAI }),
  xai({ model: 'grok-3-mini', aliases: ['grok-3-mini-latest'], input: '0.30', cachedInput: '0.075', output: '0.50', maxOutputTokens: 32_768 /* GUESS */, contextWindow: 131_072, endpoints: XAI }),
]);
