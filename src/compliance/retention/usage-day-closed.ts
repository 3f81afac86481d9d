/**
 * A closed usage day of one account, on its own stream `usage-<account>-<day>`: the day's
 * aggregates per model and per API key, in plaintext, written once the day is over. They do
 * not depend on the day's key, so after retention destroys it the daily-usage and key-spend
 * read models still rebuild the same rows from these (a replay reads a closed day from here,
 * the sealed settles of the day no longer open). Aggregates only: no request, no content.
 *
 * One event per account and day, with an id derived from both: writing the day again is a
 * no-op (the same figures) or a conflict (other figures), never a second copy.
 */
import { deterministicId } from '../../shared/ids';

export const USAGE_DAY_STREAM_PREFIX = 'usage-';
export const USAGE_DAY_CLOSED = 'UsageDayClosed';

export const usageDayStream = (accountId: string, day: string) => `${USAGE_DAY_STREAM_PREFIX}${accountId}-${day}`;
export const usageDayClosedId = (accountId: string, day: string) => deterministicId(`usage-day-closed:${accountId}:${day}`);

export interface ModelDay {
  model: string;
  requests: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedTokens: bigint;
  cost: bigint; // µcr
  estimatedRequests: bigint;
}

export interface KeyDay {
  keyId: string;
  spent: bigint; // µcr
  requests: bigint;
}

export interface UsageDayClosed {
  accountId: string;
  day: string;
  byModel: ModelDay[];
  byKey: KeyDay[];
}

type Stored = Record<string, unknown>;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** bigints as decimal strings (JSON numbers are floats); rows in a fixed order, so the same day encodes the same. */
export function encodeUsageDayClosed(d: UsageDayClosed): Stored {
  const str = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
  return {
    accountId: d.accountId,
    day: d.day,
    byModel: [...d.byModel].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0)).map(str),
    byKey: [...d.byKey].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0)).map(str),
  };
}

export function decodeUsageDayClosed(data: Stored): UsageDayClosed {
  const { accountId, day, byModel, byKey } = data as { accountId: unknown; day: unknown; byModel: unknown; byKey: unknown };
  if (typeof accountId !== 'string' || typeof day !== 'string' || !DAY.test(day) || !Array.isArray(byModel) || !Array.isArray(byKey)) {
    throw new Error('not a UsageDayClosed event');
  }
  const big = (v: unknown) => BigInt(v as string);
  return {
    accountId,
    day,
    byModel: (byModel as Stored[]).map((m) => ({
      model: String(m.model),
      requests: big(m.requests),
      inputTokens: big(m.inputTokens),
      outputTokens: big(m.outputTokens),
      cachedTokens: big(m.cachedTokens),
      cost: big(m.cost),
      estimatedRequests: big(m.estimatedRequests),
    })),
    byKey: (byKey as Stored[]).map((k) => ({ keyId: String(k.keyId), spent: big(k.spent), requests: big(k.requests) })),
  };
}
