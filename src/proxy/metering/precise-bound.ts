/**
 * A second, tighter bound on a request's input tokens, with the exact tokenizer of its model,
 * for the one case where it matters: the account (or the key's spending cap) cannot afford the
 * hold sized from the cheap byte bound (input-bound.ts). Everywhere else the byte bound is used
 * and no tokenizer runs, so the common request pays nothing for this.
 *
 * A count is a bound only with the tokenizer the provider bills with: a count times a slack
 * factor bounds nothing for another tokenizer (text can be built to be dense in any one of
 * them). So only models whose exact encoding ships here (gpt-tokenizer's o200k_base: OpenAI's
 * GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and o-series models, served by the `openai` provider) get one;
 * any other answers null and the byte bound's refusal stands.
 *
 *   bound = min(byte bound, window,
 *               Σ over every key and string value (media payloads excepted): exact tokens + 2
 *               + Σ over numbers, booleans and null: their characters
 *               + the same overheads as the byte bound (per request, object, image, tool))
 *
 * Why a bound: the provider tokenizes the same text (message contents, names, tool names,
 * descriptions and schemas, rendered with punctuation the per-string 2 and the per-object
 * overhead cover, as the byte bound's overheads cover framing); splitting a text into separate
 * strings changes its count by at most a token at each end. Every term is at most the raw bytes
 * it stands for (a token is at least one byte; a string's two quotes pay for its 2), so this
 * never exceeds the byte bound: the cheap bound never refuses what this one would admit.
 *
 * Every string is counted exactly (no sampling: a sample is defeated by text dense only where
 * no sample looks), so the cost grows with the body: bodies over HOLD_TOKENIZER_MAX_BYTES get
 * no second bound. Nothing here is kept, logged or stored.
 */
import type { EndpointKind } from '../endpoints';
import { ModelPrice } from '../pricing/model-price';
import { inputTokenBound, inputWindow, overheadTokens, walkBody } from './input-bound';
import { countO200kTokens } from './o200k';

/** Per string: its quotes, and a token at each end where the provider's text joins it. */
export const PER_STRING = 2;

/** OpenAI's models on o200k_base (the encoding shipped here), by the prefixes of their ids. */
const O200K_MODELS = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4)(?![a-z0-9])/;

/** Whether we ship the exact tokenizer the provider bills this model's input with. */
export function hasExactTokenizer(provider: ModelPrice['provider'], model: string): boolean {
  return provider === 'openai' && O200K_MODELS.test(model);
}

export type PricedModel = Pick<ModelPrice, 'provider' | 'contextWindow' | 'maxImageTokens'>;

/**
 * The tighter bound, or null when there is none to give: no exact tokenizer for the model, a
 * body over `maxBytes`, or input the body does not bound (files, references, server tools).
 * Never above the byte bound.
 */
export function preciseInputBound(
  kind: EndpointKind,
  body: unknown,
  rawBytes: number,
  price: PricedModel,
  model: string,
  maxBytes: number,
): number | null {
  if (!hasExactTokenizer(price.provider, model) || rawBytes > maxBytes) return null;
  let text = 0;
  const strings: string[] = [];
  const w = walkBody(kind, body, (v) => {
    if (typeof v === 'string') strings.push(v);
    else text += String(v).length;
  });
  if (w.unbounded) return null;
  // Media payloads are priced per image in the overheads; each occurrence is left out once.
  const payloads = w.mediaPayloads;
  for (const s of strings) {
    const left = payloads.size ? payloads.get(s) : undefined;
    if (left) {
      payloads.set(s, left - 1);
      continue;
    }
    text += (s.length === 0 ? 0 : countO200kTokens(s)) + PER_STRING;
  }
  const precise = text + overheadTokens(w, price);
  return Math.min(precise, inputWindow(kind, body, price), inputTokenBound(kind, body, rawBytes, price));
}
