/**
 * Reads usage from a provider's SSE events as they pass to the client, without holding the
 * stream: each event's data is parsed once, and all that is kept is the usage seen so far and
 * the delivered text (the text and tool-call argument deltas), so that a stream cut before its
 * final usage can be estimated with a tokenizer. That text lives in memory only, for the life
 * of the request; it is never logged or stored.
 *
 * Where each format says its usage:
 * - openai-chat / openai-completions: a final chunk with `usage` (stream_options.include_usage),
 *   after the chunk with finish_reason, usually with `choices: []`.
 * - openai-responses: `response.completed` (or `.incomplete` / `.failed`) carries response.usage.
 * - anthropic: message_start has the input side; message_delta (once, at the end) has
 *   output_tokens, cumulative, and may repeat the input side.
 * - gemini: every chunk may carry usageMetadata; the one with or after finishReason is final.
 *
 * A usage with an unusable count reads as none (see usage.ts). A whole JSON answer is shown to
 * `answer()` when its usage is missing or unusable, so its text, too, can be estimated.
 */
import { TokenUsage } from '../pricing/cost';
import { SseEvent } from '../streaming/sse';
import { usageFromAnthropic } from '../formats/anthropic.format';
import { usageFromGemini } from '../formats/gemini.format';
import { usageFromOpenAI } from '../formats/openai.format';

export type MeterFormat = 'openai-chat' | 'openai-completions' | 'openai-responses' | 'anthropic' | 'gemini';

export interface MeterResult {
  /** The provider's own final figures, when the stream carried them to the end. */
  usage: TokenUsage | null;
  /**
   * When the stream ended before its final usage: what the provider had said so far (the input
   * side exactly, output as a lower bound), so the input need not be estimated. Null otherwise.
   */
  partialUsage: TokenUsage | null;
  /** What reached the client as text or tool-call arguments: for estimating a cut stream only. */
  deliveredText: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object';

export class StreamMeter {
  private readonly parts: string[] = [];
  private final: TokenUsage | null = null;
  private partial: TokenUsage | null = null;
  private finished = false; // openai / gemini: a choice or candidate has finished
  private anthropicStart: Json | null = null;

  constructor(readonly format: MeterFormat) {}

  push(ev: SseEvent): void {
    const data = ev.data;
    if (data.length === 0 || data === '[DONE]') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours to judge: the client gets the bytes as they came
    }
    if (!isObj(msg)) return;
    switch (this.format) {
      case 'openai-chat':
      case 'openai-completions':
        return this.openai(msg);
      case 'openai-responses':
        return this.responses(msg);
      case 'anthropic':
        return this.anthropic(msg);
      case 'gemini':
        return this.gemini(msg);
    }
  }

  /**
   * A whole JSON answer (or Gemini's JSON-array stream): keeps its text, for an estimate of its
   * output when the answer carries no usable usage.
   */
  answer(buf: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(buf.toString('utf8'));
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) {
      if (!isObj(m)) continue;
      switch (this.format) {
        case 'openai-chat':
        case 'openai-completions':
          this.openaiWhole(m);
          break;
        case 'openai-responses':
          this.responsesWhole(m);
          break;
        case 'anthropic':
          this.anthropicWhole(m);
          break;
        case 'gemini':
          this.gemini(m);
          break;
      }
    }
  }

  result(): MeterResult {
    return { usage: this.final, partialUsage: this.final ? null : this.partial, deliveredText: this.parts.join('') };
  }

  private add(v: unknown): void {
    if (typeof v === 'string' && v.length > 0) this.parts.push(v);
  }

  private openai(msg: Json): void {
    const choices = Array.isArray(msg.choices) ? msg.choices : [];
    for (const c of choices) {
      if (!isObj(c)) continue;
      this.add(c.text); // completions
      if (isObj(c.delta)) this.openaiText(c.delta);
      if (typeof c.finish_reason === 'string') this.finished = true;
    }
    if (isObj(msg.usage)) {
      const usage = usageFromOpenAI(msg.usage);
      // The dedicated usage chunk has no choices; a provider that repeats usage on every chunk is final at the end.
      if (this.finished || choices.length === 0) this.final = usage;
      else this.partial = usage;
    }
  }

  private openaiWhole(msg: Json): void {
    for (const c of Array.isArray(msg.choices) ? msg.choices : []) {
      if (!isObj(c)) continue;
      this.add(c.text); // completions
      if (isObj(c.message)) this.openaiText(c.message);
    }
  }

  /** The text of an OpenAI chat message or of a stream's delta: they have the same fields. */
  private openaiText(m: Json): void {
    this.add(m.content);
    this.add(m.reasoning_content); // xAI and other OpenAI-compatible reasoning models
    this.add(m.refusal);
    for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      if (isObj(tc) && isObj(tc.function)) {
        this.add(tc.function.name);
        this.add(tc.function.arguments);
      }
    }
    if (isObj(m.function_call)) {
      this.add(m.function_call.name);
      this.add(m.function_call.arguments);
    }
  }

  private responsesWhole(msg: Json): void {
    for (const item of Array.isArray(msg.output) ? msg.output : []) {
      if (!isObj(item)) continue;
      this.add(item.name); // function and custom tool calls
      this.add(item.arguments);
      this.add(item.input);
      this.add(item.code); // code interpreter
      for (const part of [...(Array.isArray(item.content) ? item.content : []), ...(Array.isArray(item.summary) ? item.summary : [])]) {
        if (!isObj(part)) continue;
        this.add(part.text); // output_text, reasoning summary_text
        this.add(part.refusal);
      }
    }
  }

  private anthropicWhole(msg: Json): void {
    for (const block of Array.isArray(msg.content) ? msg.content : []) {
      if (!isObj(block)) continue;
      this.add(block.text);
      this.add(block.thinking);
      this.add(block.name); // tool_use
      if (block.input !== undefined) this.add(JSON.stringify(block.input));
    }
  }

  private responses(msg: Json): void {
    const type = typeof msg.type === 'string' ? msg.type : '';
    // Text, refusal, reasoning, tool arguments and code deltas; audio deltas are base64, not text.
    if (type.endsWith('.delta')) {
      if (!type.includes('audio')) this.add(msg.delta);
      return;
    }
    if (type === 'response.output_item.added' && isObj(msg.item)) {
      this.add(msg.item.name); // a function call's name
      return;
    }
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const usage = isObj(msg.response) ? msg.response.usage : undefined;
      if (isObj(usage)) this.final = usageFromOpenAI(usage);
    }
  }

  private anthropic(msg: Json): void {
    switch (msg.type) {
      case 'message_start': {
        const usage = isObj(msg.message) ? msg.message.usage : undefined;
        if (isObj(usage)) {
          this.anthropicStart = usage;
          this.partial = usageFromAnthropic(usage);
        }
        return;
      }
      case 'content_block_start': {
        const block = msg.content_block;
        if (isObj(block)) {
          this.add(block.text);
          this.add(block.name); // tool_use
        }
        return;
      }
      case 'content_block_delta': {
        const d = msg.delta;
        if (isObj(d)) {
          this.add(d.text); // text_delta
          this.add(d.partial_json); // input_json_delta
          this.add(d.thinking); // thinking_delta
        }
        return;
      }
      case 'message_delta': {
        if (!isObj(msg.usage)) return;
        // output_tokens here is cumulative; input fields, when present and not null, restate the start's.
        const merged: Json = { ...(this.anthropicStart ?? {}) };
        for (const [k, v] of Object.entries(msg.usage)) if (v !== null && v !== undefined) merged[k] = v;
        this.final = usageFromAnthropic(merged);
        return;
      }
    }
  }

  private gemini(msg: Json): void {
    const candidates = Array.isArray(msg.candidates) ? msg.candidates : [];
    for (const c of candidates) {
      if (!isObj(c)) continue;
      const parts = isObj(c.content) && Array.isArray(c.content.parts) ? c.content.parts : [];
      for (const p of parts) {
        if (!isObj(p)) continue;
        this.add(p.text); // thought summaries are text parts too, and billed as output
        if (isObj(p.functionCall)) {
          this.add(p.functionCall.name);
          if (p.functionCall.args !== undefined) this.add(JSON.stringify(p.functionCall.args));
        }
        if (isObj(p.executableCode)) this.add(p.executableCode.code);
      }
      if (typeof c.finishReason === 'string' && c.finishReason !== 'FINISH_REASON_UNSPECIFIED') this.finished = true;
    }
    if (isObj(msg.usageMetadata)) {
      const usage = usageFromGemini(msg.usageMetadata);
      if (this.finished) this.final = usage;
      else this.partial = usage;
    }
  }
}
