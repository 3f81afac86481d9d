/**
 * The window of a person's request log, as `GET /staff/users/{id}/requests?from=&to=` and
 * `tollgate staff requests --from --to` read it: ISO 8601 instants with a zone, or bare dates
 * (UTC), `from` at its day's start and `to` at its day's end, both included.
 */
import { z } from 'zod';
import { instant } from '../../ledger/cli/ledger-cli-options';

const startOfDay = z.string().transform((v) => (/^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? `${v.trim()}T00:00:00Z` : v));

export const requestWindowFields = {
  from: startOfDay.pipe(instant).optional(),
  to: instant.optional(),
};

/** A problem with a parsed window, or null. */
export function windowProblem(w: { from?: Date; to?: Date }): string | null {
  return w.from && w.to && w.from.getTime() > w.to.getTime() ? 'must not be after to' : null;
}
