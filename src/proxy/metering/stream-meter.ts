/**
 * Reads usage from a provider's SSE events as they pass to the client, without holding the
 * stream: each event's data is parsed once, and all that is kept is the usage seen so far and
 * the delivered text (the text and tool-call argument deltas), so that a stream cut before its
 * final usage can be estimated with a tokenizer. That text lives in memory only, for the life
 * of the request; it is never logged or stored.
 *
 * Where each format says its usage, and which of its fields are text, is its reader's business
 * (OPENAI_CHAT_METER, OPENAI_RESPONSES_METER, ANTHROPIC_METER, GEMINI_METER in formats/).
 * A usage with an unusable count reads as none (see usage.ts). A whole JSON answer is shown to
 * `answer()` when its usage is missing or unusable, so its text, too, can be estimated.
 */
import { TokenUsage } from '../pricing/cost';
import { SseEvent } from '../streaming/sse';
import { ANTHROPIC_METER } from '../formats/anthropic.format';
import { GEMINI_METER } from '../formats/gemini.format';
import { OPENAI_CHAT_METER, OPENAI_RESPONSES_METER } from '../formats/openai.format';
import { Json, isJsonObject } from '../formats/format';
import { MeterReader, MeterState } from './meter-reader';

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

function readerOf(format: MeterFormat): MeterReader {
  switch (format) {
    case 'openai-chat':
    case 'openai-completions':
      return OPENAI_CHAT_METER;
    case 'openai-responses':
      return OPENAI_RESPONSES_METER;
    case 'anthropic':
      return ANTHROPIC_METER;
    case 'gemini':
      return GEMINI_METER;
  }
}

/** The meter is its own reader state (no second object per request); read it through result(). */
export class StreamMeter implements MeterState {
  readonly parts: string[] = [];
  final: TokenUsage | null = null;
  partial: TokenUsage | null = null;
  finished = false;
  start: Json | null = null;
  private readonly reader: MeterReader;

  constructor(readonly format: MeterFormat) {
    this.reader = readerOf(format);
  }

  push(ev: SseEvent): void {
    const data = ev.data;
    if (data.length === 0 || data === '[DONE]') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours to judge: the client gets the bytes as they came
    }
    if (isJsonObject(msg)) this.reader.event(this, msg);
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
      if (isJsonObject(m)) this.reader.answer(this, m);
    }
  }

  result(): MeterResult {
    return { usage: this.final, partialUsage: this.final ? null : this.partial, deliveredText: this.parts.join('') };
  }
}
