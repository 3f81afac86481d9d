/**
 * The window of a person's request log, as `GET /staff/users/{id}/requests?from=&to=` and
 * `tollgate staff requests --from --to` read it: ISO 8601 instants with a zone, or bare dates
 * (UTC), `from` at its day's start and `to` at its day's end, both included.
 */
import { instant, windowStart } from '../../ledger/cli/ledger-cli-options';

export const requestWindowFields = {
  from: windowStart.optional(),
  to: instant.optional(),
};

/** A problem with a parsed window, or null. */
export function windowProblem(w: { from?: Date; to?: Date }): string | null {
  return w.from && w.to && w.from.getTime() > w.to.getTime() ? 'must not be after to' : null;
}
