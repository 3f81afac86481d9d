/**
 * How the `tollgate` command reports failure: one line on stderr, `error: <message>`, exit 2
 * for bad usage (unknown option, invalid option value) and 1 for everything else. Expected
 * errors never print a stack trace; an unexpected one prints its stack only at LOG_LEVEL
 * debug or trace.
 */
import { AppConfig } from '../config/config';
import { describeDatabaseError } from '../platform/database/pg-errors';
import { DomainError } from '../shared/domain-error';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An option value the command cannot accept; thrown before anything touches the database. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CliFailure {
  message: string;
  exitCode: number;
  stack?: string;
}

export function describeCliError(err: unknown, config?: AppConfig): CliFailure {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT_USAGE };
  // Domain errors: the message, and the code a script can match on (for those that show it).
  if (err instanceof DomainError) {
    return { message: err.showsCode ? `${err.message} (${err.code})` : err.message, exitCode: EXIT_FAILURE };
  }
  const db = config && describeDatabaseError(err, config.DATABASE_URL);
  if (db) return { message: db, exitCode: EXIT_FAILURE };
  const e = err instanceof Error ? err : new Error(String(err));
  const verbose = config?.LOG_LEVEL === 'debug' || config?.LOG_LEVEL === 'trace';
  return {
    message: verbose ? e.message : `${e.message} (LOG_LEVEL=debug shows the stack trace)`,
    exitCode: EXIT_FAILURE,
    stack: verbose ? e.stack : undefined,
  };
}

export function reportCliError(err: unknown, config?: AppConfig): number {
  const failure = describeCliError(err, config);
  // Multi-line messages (a driver's, say) are folded so the contract of one line holds.
  process.stderr.write(`error: ${failure.message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (failure.stack) process.stderr.write(`${failure.stack}\n`);
  return failure.exitCode;
}
