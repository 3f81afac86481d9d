import { z } from 'zod';
import { UsageError } from './cli-errors';

const flagOf = (key: PropertyKey) => `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Validates a command's raw options (strings from the command line) into typed values, or
 * throws a UsageError naming every bad flag on one line. Commands call it first, before any
 * database work, so bad input writes nothing.
 */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => (i.path.length ? `${flagOf(i.path[0])}: ${i.message}` : i.message));
  throw new UsageError(problems.join('; '));
}

/** Prints a result: JSON (one object, one line) with --json, else human text. */
export function printResult(json: boolean | undefined, human: string, data: Record<string, unknown>): void {
  if (json) process.stdout.write(`${JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  else process.stdout.write(`${human}\n`);
}
