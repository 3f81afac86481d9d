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
 * GenerateContentResponseUsageMetadata). Missing or malformed counts read as 0, never NaN.
 */
import { TokenUsage } from '../pricing/cost';

type Json = Record<string, unknown>;

/** A token count from a provider: a whole number ≥ 0, else 0. */
function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' ? (v as Json) : {};
}

/** Chat and completions (`prompt_tokens`…), Responses (`input_tokens`…) and embeddings (`prompt_tokens` only). */
export function usageFromOpenAI(usage: unknown): TokenUsage {
  const u = obj(usage);
  if ('input_tokens' in u || 'output_tokens' in u) {
    const details = obj(u.input_tokens_details);
    const prompt = count(u.input_tokens);
    const cached = Math.min(count(details.cached_tokens), prompt);
    const written = Math.min(count(details.cache_write_tokens), prompt - cached);
    return { inputTokens: prompt - cached - written, cachedTokens: cached, cacheWriteTokens: written, outputTokens: count(u.output_tokens) };
  }
  const details = obj(u.prompt_tokens_details);
  const prompt = count(u.prompt_tokens);
  const cached = Math.min(count(details.cached_tokens), prompt);
  const written = Math.min(count(details.cache_write_tokens), prompt - cached);
  const completion = count(u.completion_tokens);
  const beyondPrompt = count(u.total_tokens) - prompt;
  return {
    inputTokens: prompt - cached - written,
    cachedTokens: cached,
    cacheWriteTokens: written,
    outputTokens: Math.max(completion, beyondPrompt),
  };
}

/** A Message's `usage`, or the merge of message_start's and message_delta's (see StreamMeter). */
export function usageFromAnthropic(usage: unknown): TokenUsage {
  const u = obj(usage);
  return {
    inputTokens: count(u.input_tokens),
    cachedTokens: count(u.cache_read_input_tokens),
    cacheWriteTokens: count(u.cache_creation_input_tokens),
    outputTokens: count(u.output_tokens),
  };
}

/** A GenerateContentResponse's `usageMetadata`. */
export function usageFromGemini(usageMetadata: unknown): TokenUsage {
  const u = obj(usageMetadata);
  const prompt = count(u.promptTokenCount);
  const cached = Math.min(count(u.cachedContentTokenCount), prompt);
  return {
    inputTokens: prompt - cached + count(u.toolUsePromptTokenCount),
    cachedTokens: cached,
    cacheWriteTokens: 0,
    outputTokens: count(u.candidatesTokenCount) + count(u.thoughtsTokenCount),
  };
}
