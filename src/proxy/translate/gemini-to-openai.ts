/**
 * Gemini generateContent answers → OpenAI chat answers: the whole response, the `?alt=sse`
 * stream event by event, and errors. Thinking tokens are output Gemini bills, so they count
 * in completion_tokens (and reasoning_tokens), as OpenAI counts its own reasoning.
 */
import type { SseEvent } from '../streaming/sse';
import { OpenaiChunkStream } from './openai-chunk-stream';
import type { CompletionContext, OpenAIChatCompletion, OpenAIErrorBody, OpenAIFinishReason, OpenAIToolCall, OpenAIUsage } from './openai-wire';
import { chatCompletion, parseBody, upstreamError } from './openai-wire';

/**
 * Tool call ids this gateway made up because Gemini gave none. They are not sent back to
 * Gemini, which never saw them; ids Gemini issued itself are.
 */
export const SYNTHETIC_CALL_ID_PREFIX = 'tgcall_';

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { name?: string; args?: Record<string, unknown>; id?: string };
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
  index?: number;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  usageMetadata?: GeminiUsageMetadata;
  promptFeedback?: { blockReason?: string };
  modelVersion?: string;
  responseId?: string;
}

const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Gemini says STOP after a function call too; OpenAI says tool_calls. */
export function geminiFinishReason(reason: string | undefined, calledTools: boolean): OpenAIFinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && FILTERED.has(reason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}

const count = (v: number | undefined): number => (typeof v === 'number' ? v : 0);

export function geminiUsageToOpenai(u: GeminiUsageMetadata): OpenAIUsage {
  // promptTokenCount already includes the cached tokens; tool-use prompt tokens are input too.
  const prompt = count(u.promptTokenCount) + count(u.toolUsePromptTokenCount);
  const thoughts = count(u.thoughtsTokenCount);
  const completion = count(u.candidatesTokenCount) + thoughts;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: count(u.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/** Safe in an id anywhere (Anthropic's tool ids allow only these characters). */
const idSafe = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

function toolCall(part: GeminiPart, ctx: CompletionContext, n: number): OpenAIToolCall {
  const fc = part.functionCall ?? {};
  const call: OpenAIToolCall = {
    id: fc.id || `${SYNTHETIC_CALL_ID_PREFIX}${idSafe(ctx.id)}_${n}`,
    type: 'function',
    function: { name: fc.name ?? '', arguments: JSON.stringify(fc.args ?? {}) },
  };
  if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return call;
}

/** Thought summaries are not answer text (we never ask for them, but a model may send them). */
const answerText = (p: GeminiPart): string => (p.thought || typeof p.text !== 'string' ? '' : p.text);

export function geminiResponseToOpenaiChat(resp: GeminiResponse, ctx: CompletionContext): OpenAIChatCompletion {
  const candidate = resp.candidates?.[0];
  let text = '';
  const toolCalls: OpenAIToolCall[] = [];
  for (const p of candidate?.content?.parts ?? []) {
    if (p.functionCall) toolCalls.push(toolCall(p, ctx, toolCalls.length));
    else text += answerText(p);
  }
  const blocked = !candidate && resp.promptFeedback?.blockReason !== undefined;
  const content = text === '' && (toolCalls.length || blocked) ? null : text;
  const finish = blocked ? 'content_filter' : geminiFinishReason(candidate?.finishReason, toolCalls.length > 0);
  return chatCompletion(ctx, content, toolCalls, finish, geminiUsageToOpenai(resp.usageMetadata ?? {}));
}

/**
 * Turns Gemini's `?alt=sse` stream (each event a whole GenerateContentResponse holding the next
 * piece; function calls arrive whole) into chat.completion.chunk events.
 */
export class GeminiToOpenaiStream extends OpenaiChunkStream {
  private started = false;
  private toolCount = 0;
  private usageSoFar: GeminiUsageMetadata = {};

  /** Each event carries the running figures. */
  get usage(): OpenAIUsage {
    return geminiUsageToOpenai(this.usageSoFar);
  }

  push(ev: SseEvent): SseEvent[] {
    if (this.failed) return [];
    const data = parseBody(ev.data) as (GeminiResponse & { error?: unknown }) | null;
    if (typeof data !== 'object' || data === null) return this.malformed();
    if (data.error !== undefined) return this.fail(geminiErrorObject(data.error));
    const out: SseEvent[] = [];
    if (!this.started) {
      this.started = true;
      out.push(this.out.delta({ role: 'assistant', content: '', refusal: null }));
    }
    if (data.usageMetadata) this.usageSoFar = data.usageMetadata;
    const candidate = data.candidates?.[0];
    for (const p of candidate?.content?.parts ?? []) {
      if (p.functionCall) {
        const index = this.toolCount++;
        const { extra_content, ...call } = toolCall(p, this.ctx, index);
        out.push(this.out.delta({ tool_calls: [{ index, ...call, ...(extra_content && { extra_content }) }] }));
      } else {
        const text = answerText(p);
        if (text) out.push(this.out.delta({ content: text }));
      }
    }
    if (this.finish === null) {
      if (candidate?.finishReason) this.finish = geminiFinishReason(candidate.finishReason, this.toolCount > 0);
      else if (!candidate && data.promptFeedback?.blockReason !== undefined) this.finish = 'content_filter';
      if (this.finish !== null) out.push(this.out.delta({}, this.finish));
    }
    return out;
  }
}

function geminiErrorObject(e: unknown, status?: number): OpenAIErrorBody['error'] {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; message?: unknown; status?: unknown };
  const code = typeof err.status === 'string' ? err.status.toLowerCase() : null;
  return upstreamError(status ?? (typeof err.code === 'number' ? err.code : 500), err.message, code);
}

/**
 * A Gemini error answer (`{error:{code, message, status}}`, or a list of them; parsed, as text or
 * bytes) as the OpenAI error body to send with the same HTTP status.
 */
export function geminiErrorToOpenai(status: number, body: unknown): OpenAIErrorBody {
  let parsed = parseBody(body);
  if (Array.isArray(parsed)) parsed = parsed[0]; // streamGenerateContent without alt=sse answers a JSON array
  const error = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  return { error: geminiErrorObject(error, status) };
}
