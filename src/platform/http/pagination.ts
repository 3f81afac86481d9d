/**
 * Lists of the account API: `?limit=` (1..200, default 50) and an opaque `?cursor=` from the
 * previous page's `nextCursor` (null on the last page). The cursor is the last row's sort key
 * (keyset pagination, never OFFSET: a page is as fast at row 900,000 as at row 0, and rows added
 * meanwhile neither repeat nor vanish), base64url JSON; a cursor that does not decode to the
 * shape the route expects is `validation_failed`, never a 500.
 */
import { z } from 'zod';
import { ApiError } from './api-error';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface PageParams<C> {
  limit: number;
  cursor: C | null;
}

const limitSchema = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE);

export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** `limit` and `cursor` from a query string; `cursorShape` validates the decoded sort key. */
export function pageParams<C>(query: Record<string, unknown> | undefined, cursorShape: z.ZodType<C>): PageParams<C> {
  const rawLimit = query?.limit;
  let limit = DEFAULT_PAGE_SIZE;
  if (rawLimit !== undefined && rawLimit !== '') {
    const parsed = limitSchema.safeParse(rawLimit);
    if (!parsed.success) throw new ApiError('validation_failed', `limit: must be a whole number from 1 to ${MAX_PAGE_SIZE}`, { param: 'limit' });
    limit = parsed.data;
  }
  const rawCursor = query?.cursor;
  if (rawCursor === undefined || rawCursor === '') return { limit, cursor: null };
  const bad = () => new ApiError('validation_failed', 'cursor: not a cursor this list gave out', { param: 'cursor' });
  if (typeof rawCursor !== 'string' || rawCursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(rawCursor)) throw bad();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(rawCursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const shaped = cursorShape.safeParse(decoded);
  if (!shaped.success) throw bad();
  return { limit, cursor: shaped.data };
}

/**
 * A page from rows fetched with `LIMIT limit + 1`: the extra row only says whether another page
 * follows; the cursor is the sort key of the last row shown.
 */
export function pageOf<R, T>(rows: R[], limit: number, keyOf: (row: R) => unknown, toItem: (row: R) => T): Page<T> {
  const shown = rows.slice(0, limit);
  const more = rows.length > limit && shown.length > 0;
  return { data: shown.map(toItem), nextCursor: more ? encodeCursor(keyOf(shown[shown.length - 1])) : null };
}
