import { z } from 'zod';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/;

// Date.parse rolls 2026-02-30T… over into March; a day the month does not have is a typo.
const realDay = (v: string): boolean => {
  const [y, m, d] = v.slice(0, 10).split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

/**
 * An instant given as ISO 8601 with a zone (2026-03-01T12:00:00Z, ...+01:00). A bare date means
 * the end of that day in UTC, which is what "the balance as of 31 March" means to an accountant.
 */
export const instant = z.string().transform((value, ctx) => {
  const v = value.trim();
  if (DATE_ONLY.test(v)) {
    const start = Date.parse(`${v}T00:00:00Z`);
    if (!Number.isNaN(start) && new Date(start).toISOString().startsWith(v)) return new Date(start + 86_400_000 - 1);
  } else if (DATE_TIME.test(v) && realDay(v) && !Number.isNaN(Date.parse(v))) {
    return new Date(v);
  }
  ctx.addIssue({
    code: 'custom',
    message: `must be an ISO 8601 date (2026-03-31) or date-time with a zone (2026-03-31T12:00:00Z), got ${JSON.stringify(value)}`,
  });
  return z.NEVER;
});

/** Like `instant`, but a bare date means the start of that day (UTC): where a window begins. */
export const windowStart = z.string().transform((value, ctx) => {
  const parsed = instant.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  }
  return DATE_ONLY.test(value.trim()) ? new Date(parsed.data.getTime() - 86_400_000 + 1) : parsed.data;
});

export const accountId = z.string().trim().min(1, 'must not be empty').max(200, 'is too long');

/**
 * An instant no later than `now`. Figures as of a later instant are not known yet (events may
 * still occur before it), so both `tollgate ledger … --as-of` and the staff API refuse one rather
 * than print figures that would change. A bare date of today is its end, so it is refused too.
 */
export const pastInstant = (now: Date) =>
  instant.refine((d) => d.getTime() <= now.getTime(), { message: `is in the future (now is ${now.toISOString()}): figures after now are not known yet` });
