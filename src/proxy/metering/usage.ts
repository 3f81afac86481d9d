/**
 * The rules every format's usage reader follows (the readers themselves live with their format:
 * usageFromOpenAI in formats/openai.format.ts, usageFromAnthropic and usageFromGemini beside it).
 * Each turns a provider's own usage fields into the normalised TokenUsage the price is applied
 * to. The providers count differently, and a mistake there is a wrong charge on every request.
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
export function count(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new Unusable();
}

/** A count the provider always reports. */
export function required(v: unknown): number {
  if (v === undefined || v === null) throw new Unusable();
  return count(v);
}

/** A nested usage object: absent is empty, anything but an object is unusable. */
export function obj(v: unknown): Json {
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return v as Json;
  throw new Unusable();
}

/** Runs a reader: its usage, or null when a count was unusable. */
export function usable(read: () => TokenUsage): TokenUsage | null {
  try {
    return read();
  } catch (err) {
    if (err instanceof Unusable) return null;
    throw err;
  }
}
