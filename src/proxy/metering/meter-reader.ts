/**
 * The contract between StreamMeter and each format's reader of its stream events and whole
 * answers (formats/*.format.ts): the readers keep text and usage in the meter's state.
 */
import type { TokenUsage } from '../pricing/cost';
import type { Json } from '../formats/format';

/** What a format's reader keeps while a stream passes. */
export interface MeterState {
  /** The delivered text, in pieces. */
  readonly parts: string[];
  final: TokenUsage | null;
  partial: TokenUsage | null;
  /** A choice or candidate has finished (OpenAI, Gemini): usage seen from then on is final. */
  finished: boolean;
  /** The usage said once at the start (Anthropic's message_start), merged into the end's. */
  start: Json | null;
}

/** One format's reading of its stream events and whole answers (in its formats/ file). */
export interface MeterReader {
  /**
   * Matches the data of every event that may change the usage (or what a later usage counts as,
   * such as a choice finishing): those are read as they pass. The others are read only for their
   * text, and only if it is asked for (StreamMeter). A superset is harmless (an event read early);
   * a miss would lose a usage, so it also matches any \u escape (a key could be spelled with one).
   */
  readonly usageMayChange: RegExp;
  event(state: MeterState, msg: Json): void;
  answer(state: MeterState, msg: Json): void;
}

/** Keeps a piece of delivered text. */
export function addText(state: MeterState, v: unknown): void {
  if (typeof v === 'string' && v.length > 0) state.parts.push(v);
}
