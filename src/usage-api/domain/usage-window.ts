/**
 * Which days a usage report covers: ISO dates (YYYY-MM-DD) read as UTC days, `to` inclusive,
 * the last 30 days by default, at most 92 days (the request log keeps 90; two more let a
 * report straddle the edges). Pure: today is an argument.
 */

/**
 * One dimension, or two: `day,model` and `day,key` answer a line per day and model (or key),
 * the day in `group` and the model (or key) in `subgroup`, what a chart of spend per day by
 * model draws. Only pairs one rollup holds (migrations/013): model × key is in neither.
 */
export const USAGE_GROUPS = ['day', 'model', 'key', 'project', 'day,model', 'day,key'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
export type TwoDimensionGroup = Extract<UsageGroup, `${string},${string}`>;
export const isTwoDimensions = (g: UsageGroup): g is TwoDimensionGroup => g.includes(',');
/** The most subgroups a two-dimension answer names one by one (`top`); the rest are summed as one, `subgroup: null`. */
export const MAX_USAGE_TOP = 50;

export const DEFAULT_USAGE_DAYS = 30;
export const MAX_USAGE_DAYS = 92;

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Both ends as YYYY-MM-DD, from ≤ to, at most MAX_USAGE_DAYS days counting both ends. */
export interface UsageWindow {
  from: string;
  to: string;
}

/** Which query parameter is wrong, and why. */
export interface UsageWindowProblem {
  field: 'from' | 'to';
  message: string;
}

/** The UTC day of an instant, as YYYY-MM-DD. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** Milliseconds at 00:00 UTC of a real calendar date, or null (2026-02-30 is not one). */
function dayStart(s: string): number | null {
  const m = ISO_DATE.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : null;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function usageWindow(query: { from?: string; to?: string }, now: Date): UsageWindow | UsageWindowProblem {
  let toMs: number;
  if (query.to === undefined) toMs = dayStart(utcDay(now))!;
  else {
    const parsed = dayStart(query.to);
    if (parsed === null) return { field: 'to', message: 'to must be a date as YYYY-MM-DD (a UTC day, included)' };
    toMs = parsed;
  }
  let fromMs: number;
  if (query.from === undefined) fromMs = toMs - (DEFAULT_USAGE_DAYS - 1) * DAY_MS;
  else {
    const parsed = dayStart(query.from);
    if (parsed === null) return { field: 'from', message: 'from must be a date as YYYY-MM-DD (a UTC day)' };
    fromMs = parsed;
  }
  if (fromMs > toMs) return { field: 'from', message: `from (${dayOf(fromMs)}) is after to (${dayOf(toMs)})` };
  const days = (toMs - fromMs) / DAY_MS + 1;
  if (days > MAX_USAGE_DAYS) {
    return { field: query.from === undefined ? 'to' : 'from', message: `the range is ${days} days; at most ${MAX_USAGE_DAYS} (usage is kept 90 days)` };
  }
  return { from: dayOf(fromMs), to: dayOf(toMs) };
}

/**
 * The request log's optional range of UTC days (`from`, `to` included), either end open; the
 * log keeps 90 days, so no bound on its length is needed. Pure, like usageWindow.
 */
export function requestDays(query: { from?: string; to?: string }): { from: string | null; to: string | null } | UsageWindowProblem {
  const from = query.from === undefined ? null : dayStart(query.from);
  if (from === null && query.from !== undefined) return { field: 'from', message: 'from must be a date as YYYY-MM-DD (a UTC day)' };
  const to = query.to === undefined ? null : dayStart(query.to);
  if (to === null && query.to !== undefined) return { field: 'to', message: 'to must be a date as YYYY-MM-DD (a UTC day, included)' };
  if (from !== null && to !== null && from > to) return { field: 'from', message: `from (${dayOf(from)}) is after to (${dayOf(to)})` };
  return { from: from === null ? null : dayOf(from), to: to === null ? null : dayOf(to) };
}

export const isWindowProblem = <W extends object>(w: W | UsageWindowProblem): w is UsageWindowProblem => 'field' in w && 'message' in w;
