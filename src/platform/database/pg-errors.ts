/**
 * Turns the errors a process meets when Postgres is missing, unreachable or unmigrated into
 * one line an operator can act on. The URL is shown without its password.
 */

// Node socket errors and the Postgres SQLSTATEs that mean "cannot use this database at all".
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);
const AUTH_CODES = new Set(['28P01', '28000']); // invalid_password, invalid_authorization_specification

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable>';
  }
}

/** A one-line description when err is a known database-setup problem, else undefined. */
export function describeDatabaseError(err: unknown, databaseUrl: string): string | undefined {
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  // A refused connection to "localhost" comes back as an AggregateError of the v4 and v6 attempts.
  const code = e?.code ?? e?.errors?.[0]?.code;
  const where = `DATABASE_URL=${redactUrl(databaseUrl)}`;
  if (code && CONNECTION_CODES.has(code)) return `cannot connect to Postgres at ${where} (${code})`;
  if (code && AUTH_CODES.has(code)) return `Postgres refused the credentials in ${where}: ${e.message}`;
  if (code === '3D000') return `the database in ${where} does not exist; run \`tollgate db migrate\` to create it`;
  if (code === '42P01') return `the database in ${where} is not migrated; run \`tollgate db migrate\``;
  if (e?.message === 'Connection terminated due to connection timeout') return `timed out connecting to Postgres at ${where}`;
  return undefined;
}
