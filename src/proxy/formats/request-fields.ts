/**
 * Readers for the few request-body fields the formats' shape readers share. A field the gateway
 * relies on (an output limit, a number of answers) is checked here; anything else in the body
 * is the provider's business.
 */
import { ProxyError } from '../http/proxy-error';

export const larger = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

export const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * A request's output limit, when it sets one: a whole number ≥ 1. Zero is refused, not read as
 * "no output": providers treat it as unset or answer anyway, and a hold that reserved nothing
 * for the answer would let it be charged at a hold sized for the input alone.
 */
export function limitOrNull(v: unknown, param: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ProxyError('invalid_request', `${param} must be a whole number >= 1`, { param });
  }
  return v;
}

/** A header's value when the client sent it once and not empty, trimmed. */
export function headerValue(v: string | string[] | undefined): string | null {
  return typeof v === 'string' && v ? v.trim() : null;
}
