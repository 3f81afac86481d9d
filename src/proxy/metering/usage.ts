/**
 * Each provider's own usage fields → the normalised TokenUsage the price is applied to. The
 * providers count differently, and a mistake here is a wrong charge on every request:
 *
 * - OpenAI (and xAI, same format): prompt_tokens / input_tokens INCLUDE the cached tokens (and
 *   the tokens written to the cache, where reported); completion_tokens / output_tokens include
 *   reasoning. xAI reports reasoning tokens beside completion_tokens, not inside them (its
 *   total_tokens = prompt + completion + reasoning), so output is the larger of
 *   completion_tokens and total_tokens − prompt_tokens, which is right for both.
 * - Anthropic: input_tokens EXCLUDES cache reads and cache writes; output_tokens includes thinking.
 * - Gemini: promptTokenCount INCLUDES cachedContentTokenCount; thoughtsTokenCount is separate
 *   from candidatesTokenCount and billed as output; toolUsePromptTokenCount (results of Google's
 *   own tools fed back to the model) is separate from the prompt and billed as input.
 *
 * Field names as in the official SDK types (openai CompletionUsage / ResponseUsage /
 * CreateEmbeddingResponse.Usage, @anthropic-ai/sdk Usage / MessageDeltaUsage, @google/genai
 * GenerateContentResponseUsageMetadata).
 *
 * A usage the gateway cannot trust is no usage: when any count is present but not a whole
 * number ≥ 0 (a string, a negative, a fraction, 1e999 read as Infinity), or a required count is
 * absent, the reader returns null, and the request is billed from an estimate marked as such
 * (proxy.service.ts), never charged 0 as if the provider had said so. null and absent optional
 * counts (Anthropic's cache fields, Gemini's zero counts, which it omits) read as 0.
 */
import { TokenUsage } from '../pricing/cost';

type Json = Record<string, unknown>;

/** Thrown inside a reader when a count is unusable; the reader returns null. */
class Unusable extends Error {}

/** An optional token count: absent or null is 0, a whole number ≥ 0 is itself, anything else is unusable. */
function count(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new Unusable();
}

/** A count the provider always reports. */
function required(v: unknown): number {
  if (v === undefined || v === null) throw new Unusable();
  return count(v);
}

function obj(v: unknown): Json {
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return v as Json;
  throw new Unusable();
}

function usable(read: () => TokenUsage): TokenUsage | null {
  try {
    return read();
  } catch (err) {
    if (err instanceof Unusable) return null;
    throw err;
  }
}

/** Chat and completions (`prompt_tokens`…), Responses (`input_tokens`…) and embeddings (`prompt_tokens` only). */
export function usageFromOpenAI(usage: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usage);
    if ('input_tokens' in u || 'output_tokens' in u) {
      const details = obj(u.input_tokens_details);
      const prompt = required(u.input_tokens);
      const output = required(u.output_tokens);
      count(u.total_tokens); // not billed from, but a total that is no count says the rest cannot be trusted either
      const cached = Math.min(count(details.cached_tokens), prompt);
      const written = Math.min(count(details.cache_write_tokens), prompt - cached);
      return { inputTokens: prompt - cached - written, cachedTokens: cached, cacheWriteTokens: written, outputTokens: output };
    }
    const details = obj(u.prompt_tokens_details);
    const prompt = required(u.prompt_tokens);
    const cached = Math.min(count(details.cached_tokens), prompt);
    const written = Math.min(count(details.cache_write_tokens), prompt - cached);
    const completion = count(u.completion_tokens); // absent for embeddings
    const beyondPrompt = count(u.total_tokens) - prompt;
    return {
      inputTokens: prompt - cached - written,
      cachedTokens: cached,
      cacheWriteTokens: written,
      outputTokens: Math.max(completion, beyondPrompt),
    };
  });
}

/** A Message's `usage`, or the merge of message_start's and message_delta's (see StreamMeter). */
export function usageFromAnthropic(usage: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usage);
    return {
      inputTokens: required(u.input_tokens),
      cachedTokens: count(u.cache_read_input_tokens),
      cacheWriteTokens: count(u.cache_creation_input_tokens),
      outputTokens: required(u.output_tokens),
    };
  });
}

/** A GenerateContentResponse's `usageMetadata`. */
export function usageFromGemini(usageMetadata: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usageMetadata);
    const prompt = required(u.promptTokenCount);
    const cached = Math.min(count(u.cachedContentTokenCount), prompt);
    count(u.totalTokenCount); // not billed from, but a total that is no count says the rest cannot be trusted either
    return {
      inputTokens: prompt - cached + count(u.toolUsePromptTokenCount),
      cachedTokens: cached,
      cacheWriteTokens: 0,
      outputTokens: count(u.candidatesTokenCount) + count(u.thoughtsTokenCount),
    };
  });
}
