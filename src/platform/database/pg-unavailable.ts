/**
 * Tells "Postgres cannot be reached now" apart from "Postgres refused this": the first is an
 * outage (503 with retry-after; a settle kept for later), the second a fault in what was sent.
 * node-postgres reports a lost server as socket errors (ECONNREFUSED, ECONNRESET…) or as plain
 * Errors with these messages, and a server shutting down or starting as SQLSTATE 08xxx / 57P0x.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const SERVER_CODES = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/; // connection exception; admin/crash shutdown, starting up; too many connections

const MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /^connect ECONNREFUSED/,
];

export function isPgUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SERVER_CODES.test(e.code))) return true;
  if (typeof e.message === 'string' && MESSAGES.some((m) => m.test(e.message as string))) return true;
  // An AggregateError (a dual-stack connect that failed on every address) is down if its parts are.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isPgUnavailable);
}

/** Postgres refused the data itself (class 22: data exception, 23: integrity constraint): the rows' fault, not an outage. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
