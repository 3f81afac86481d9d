/**
 * Anthropic Messages answers → OpenAI chat answers: the whole message, the SSE stream event by
 * event, and errors. Usage figures are carried over exactly; prompt_tokens counts every input
 * token Anthropic bills (uncached, cache reads and cache writes), as OpenAI's prompt_tokens does.
 */
import type { SseEvent } from '../streaming/sse';
import { OpenaiChunkStream } from './openai-chunk-stream';
import type { CompletionContext, OpenAIChatCompletion, OpenAIErrorBody, OpenAIFinishReason, OpenAIToolCall, OpenAIUsage } from './openai-wire';
import { chatCompletion, parseBody, upstreamError } from './openai-wire';

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

export interface AnthropicContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: string | null;
  stop_sequence?: string | null;
  usage: AnthropicUsage;
}

const FINISH: Record<string, OpenAIFinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export const anthropicFinishReason = (stop: string | null | undefined): OpenAIFinishReason => (stop && FINISH[stop]) || 'stop';

const count = (v: number | null | undefined): number => (typeof v === 'number' ? v : 0);

export function anthropicUsageToOpenai(u: AnthropicUsage): OpenAIUsage {
  const cacheRead = count(u.cache_read_input_tokens);
  const cacheWrite = count(u.cache_creation_input_tokens);
  const prompt = count(u.input_tokens) + cacheRead + cacheWrite;
  const completion = count(u.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

export function anthropicMessageToOpenaiChat(msg: AnthropicMessage, ctx: CompletionContext): OpenAIChatCompletion {
  let text = '';
  const toolCalls: OpenAIToolCall[] = [];
  for (const b of msg.content ?? []) {
    if (b.type === 'text') text += b.text ?? '';
    else if (b.type === 'tool_use') {
      toolCalls.push({ id: b.id ?? '', type: 'function', function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } });
    }
    // thinking and server-tool blocks have no place in a chat completion (we never ask for them).
  }
  const content = text === '' && toolCalls.length ? null : text;
  return chatCompletion(ctx, content, toolCalls, anthropicFinishReason(msg.stop_reason), anthropicUsageToOpenai(msg.usage ?? {}));
}

/** One event of the Messages stream, as declared: each field is read as possibly absent. */
interface AnthropicStreamEvent {
  type?: string;
  index?: number;
  message?: { usage?: AnthropicUsage };
  content_block?: AnthropicContentBlock;
  delta?: AnthropicDelta;
  usage?: AnthropicUsage;
  error?: unknown;
}

/** content_block_delta's and message_delta's `delta`. */
interface AnthropicDelta {
  type?: string;
  text?: string;
  partial_json?: string;
  stop_reason?: string | null;
}

type BlockState = { kind: 'text' } | { kind: 'tool'; toolIndex: number; argsSent: boolean } | { kind: 'other' };

/**
 * Turns Anthropic's stream (message_start, content_block_start/delta/stop, message_delta,
 * message_stop, ping, error) into chat.completion.chunk events, one upstream event at a time.
 */
export class AnthropicToOpenaiStream extends OpenaiChunkStream {
  private readonly blocks = new Map<number | undefined, BlockState>(); // keyed as the events say, index or not
  private toolCount = 0;
  private usageSoFar: AnthropicUsage = {};

  get usage(): OpenAIUsage {
    return anthropicUsageToOpenai(this.usageSoFar);
  }

  push(ev: SseEvent): SseEvent[] {
    if (this.failed) return [];
    let data: AnthropicStreamEvent | null;
    try {
      data = JSON.parse(ev.data) as AnthropicStreamEvent | null;
    } catch {
      return this.malformed();
    }
    switch (data?.type) {
      case 'message_start':
        this.usageSoFar = { ...(data.message?.usage ?? {}) };
        return [this.out.delta({ role: 'assistant', content: '', refusal: null })];
      case 'content_block_start':
        return this.blockStart(data.index, data.content_block ?? {});
      case 'content_block_delta':
        return this.blockDelta(data.index, data.delta ?? {});
      case 'content_block_stop': {
        const b = this.blocks.get(data.index);
        // A tool called without arguments streams no JSON; OpenAI clients expect "{}".
        if (b?.kind === 'tool' && !b.argsSent) return [this.out.delta({ tool_calls: [{ index: b.toolIndex, function: { arguments: '{}' } }] })];
        return [];
      }
      case 'message_delta':
        this.mergeUsage(data.usage ?? {});
        this.finish = anthropicFinishReason(data.delta?.stop_reason);
        return [this.out.delta({}, this.finish)];
      case 'error':
        return this.fail(anthropicErrorObject(data.error));
      default:
        return []; // message_stop, ping, and event types added after this was written
    }
  }

  private blockStart(index: number | undefined, block: Partial<AnthropicContentBlock>): SseEvent[] {
    if (block.type === 'text') {
      this.blocks.set(index, { kind: 'text' });
      return block.text ? [this.out.delta({ content: block.text })] : [];
    }
    if (block.type === 'tool_use') {
      const state: BlockState = { kind: 'tool', toolIndex: this.toolCount++, argsSent: false };
      this.blocks.set(index, state);
      return [
        this.out.delta({
          tool_calls: [{ index: state.toolIndex, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } }],
        }),
      ];
    }
    this.blocks.set(index, { kind: 'other' });
    return [];
  }

  private blockDelta(index: number | undefined, delta: AnthropicDelta): SseEvent[] {
    const b = this.blocks.get(index);
    if (b?.kind === 'text' && delta.type === 'text_delta' && delta.text) return [this.out.delta({ content: delta.text })];
    if (b?.kind === 'tool' && delta.type === 'input_json_delta' && delta.partial_json) {
      b.argsSent = true;
      return [this.out.delta({ tool_calls: [{ index: b.toolIndex, function: { arguments: delta.partial_json } }] })];
    }
    return [];
  }

  /** message_delta's usage is cumulative; its input figures may be null (then message_start's stand). */
  private mergeUsage(u: AnthropicUsage): void {
    for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      if (typeof u[key] === 'number') this.usageSoFar[key] = u[key];
    }
  }
}

/** The HTTP status Anthropic uses for each error type (for errors met inside a stream). */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

function anthropicErrorObject(e: unknown, status?: number): OpenAIErrorBody['error'] {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { type?: unknown; message?: unknown };
  const type = typeof err.type === 'string' ? err.type : null;
  return upstreamError(status ?? (type !== null ? ERROR_STATUS[type] : undefined) ?? 500, err.message, type);
}

/**
 * An Anthropic error answer (`{type:"error", error:{type, message}}`, parsed, as text or bytes)
 * as the OpenAI error body to send with the same HTTP status.
 */
export function anthropicErrorToOpenai(status: number, body: unknown): OpenAIErrorBody {
  const parsed = parseBody(body) as { error?: unknown } | null;
  return { error: anthropicErrorObject(parsed?.error, status) };
}
