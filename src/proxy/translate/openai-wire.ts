/**
 * The OpenAI chat wire shapes this folder produces (chat.completion, chat.completion.chunk,
 * the error body). Declared here rather than imported from the `openai` package, which is a
 * dev dependency; a spec checks that they are assignable to the SDK's own types.
 */
import type { SseEvent } from '../streaming/sse';

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** Gemini's thought signature rides along as Google's own OpenAI-compatible endpoint sends it. */
export interface GoogleExtraContent {
  google: { thought_signature: string };
}

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
  extra_content?: GoogleExtraContent;
}

export interface OpenAIChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: OpenAIToolCall[] };
    logprobs: null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: OpenAIUsage;
}

export interface OpenAIToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
  extra_content?: GoogleExtraContent;
}

export interface OpenAIChunkDelta {
  role?: 'assistant';
  content?: string;
  refusal?: null;
  tool_calls?: OpenAIToolCallDelta[];
}

export interface OpenAIChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: number; delta: OpenAIChunkDelta; logprobs: null; finish_reason: OpenAIFinishReason | null }>;
  usage?: OpenAIUsage | null;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface CompletionContext {
  id: string;
  created: number;
  model: string;
}

export interface StreamContext extends CompletionContext {
  includeUsage: boolean;
}

/** The OpenAI error type for an HTTP status, in the vocabulary the gateway's own errors use. */
export function openaiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

/**
 * A provider's error (in an answer or met inside a stream) as the OpenAI error object: its own
 * message when it gave one, the OpenAI type for its HTTP status, and its own error code.
 */
export function upstreamError(httpStatus: number, message: unknown, code: string | null): OpenAIErrorBody['error'] {
  return {
    message: typeof message === 'string' ? message : `The upstream provider failed (HTTP ${httpStatus}).`,
    type: openaiErrorType(httpStatus),
    param: null,
    code,
  };
}

/** A provider's JSON body given parsed, as text or as bytes; anything unreadable is null. */
export function parseBody(body: unknown): unknown {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      return JSON.parse(body.toString());
    } catch {
      return null;
    }
  }
  return body ?? null;
}

/** A whole translated answer: one choice, its text (null when it has none to give) and tool calls. */
export function chatCompletion(
  ctx: CompletionContext,
  content: string | null,
  toolCalls: OpenAIToolCall[],
  finishReason: OpenAIFinishReason,
  usage: OpenAIUsage,
): OpenAIChatCompletion {
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls.length && { tool_calls: toolCalls }) },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
  };
}

/**
 * Writes the chunks of one streamed answer: every chunk carries the same id, created and model;
 * with include_usage every chunk says `usage: null` until the last, as OpenAI's do.
 */
export class ChunkWriter {
  constructor(private readonly ctx: StreamContext) {}

  delta(delta: OpenAIChunkDelta, finishReason: OpenAIFinishReason | null = null): SseEvent {
    return this.event([{ index: 0, delta, logprobs: null, finish_reason: finishReason }]);
  }

  usage(usage: OpenAIUsage): SseEvent {
    return this.event([], usage);
  }

  done(): SseEvent {
    return { data: '[DONE]' };
  }

  /** An error inside the stream: the openai SDK throws an APIError when it reads one. */
  error(body: OpenAIErrorBody): SseEvent {
    return { data: JSON.stringify(body) };
  }

  private event(choices: OpenAIChatCompletionChunk['choices'], usage: OpenAIUsage | null = null): SseEvent {
    const chunk: OpenAIChatCompletionChunk = {
      id: this.ctx.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.ctx.model,
      choices,
    };
    if (this.ctx.includeUsage) chunk.usage = usage;
    return { data: JSON.stringify(chunk) };
  }
}
