/**
 * Reads usage from a provider's SSE events as they pass to the client, without holding the
 * stream: what is kept is the usage seen so far and the delivered text (the text and tool-call
 * argument deltas), so that a stream cut before its final usage can be estimated with a
 * tokenizer. That text lives in memory only, for the life of the request; it is never logged or
 * stored.
 *
 * Only the events that may change the usage are parsed as they pass (the format's
 * usageMayChange: a usage object, a choice finishing). The rest, nearly every event, are text
 * the estimate needs only when the final usage never comes, and parsing each one was most of the
 * meter's cost (4% of the gateway's time with 2,000 streams open): their data is kept as it came,
 * and read for its text only when the text is asked for (result()), or once it passes
 * PENDING_MAX_CHARS (a long stream then costs what it did, a parse per event, in batches).
 * Either way every event is read for its text once and in order, so the text is the same.
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

/**
 * Event data kept unread for its text, per stream, before it is read (about 150 events of a
 * chat stream): bounds what a stream holds, 2,000 streams at most 64 MB of one-byte strings.
 */
export const PENDING_MAX_CHARS = 32 * 1024;

/** The meter is its own reader state (no second object per request); read it through result(). */
export class StreamMeter implements MeterState {
  readonly parts: string[] = [];
  final: TokenUsage | null = null;
  partial: TokenUsage | null = null;
  finished = false;
  start: Json | null = null;
  private readonly reader: MeterReader;
  /** Event data not yet read for its text, in stream order (events read early included). */
  private pending: string[] = [];
  private pendingChars = 0;
  /** The text reading's own state: only its parts (this.parts) are kept. */
  private textState: MeterState | null = null;

  constructor(readonly format: MeterFormat) {
    this.reader = readerOf(format);
  }

  push(ev: SseEvent): void {
    const data = ev.data;
    if (data.length === 0 || data === '[DONE]') return;
    if (this.reader.usageMayChange.test(data)) {
      const msg = parseObject(data);
      if (msg) {
        const had = this.parts.length;
        this.reader.event(this, msg);
        this.parts.length = had; // its text is read with the rest, in order (readPending)
      }
    }
    this.pending.push(data);
    this.pendingChars += data.length;
    if (this.pendingChars > PENDING_MAX_CHARS) this.readPending();
  }

  /** The provider's final usage, when the stream carried it (no text is read for this). */
  finalUsage(): TokenUsage | null {
    return this.final;
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
    this.readPending();
    return { usage: this.final, partialUsage: this.final ? null : this.partial, deliveredText: this.parts.join('') };
  }

  /** Reads the kept events for their text, into parts. */
  private readPending(): void {
    if (this.pending.length === 0) return;
    const text = (this.textState ??= { parts: this.parts, final: null, partial: null, finished: false, start: null });
    for (const data of this.pending) {
      const msg = parseObject(data);
      if (msg) this.reader.event(text, msg);
    }
    this.pending = [];
    this.pendingChars = 0;
  }
}

/** The event's data as a JSON object; null when it is not one (not ours to judge: the client gets the bytes as they came). */
function parseObject(data: string): Json | null {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  return isJsonObject(msg) ? msg : null;
}
