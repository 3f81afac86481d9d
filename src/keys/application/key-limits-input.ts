/**
 * How people give a key's limits, read in one place for both surfaces: `tollgate keys limits`
 * (strings from the command line) and the account API (`PATCH /api/keys/{id}`, and the limits
 * of `POST /api/projects/{id}/keys`, as JSON). Each reader turns its input into the same
 * Partial<KeyLimits> patch; the decider's applyLimits then checks the values themselves.
 */
import { z } from 'zod';
import { instant } from '../../ledger/cli/ledger-cli-options';
import { MoneyFormatError, formatCredits, parseCredits } from '../../shared/money';
import { MAX_SPEND_CAP_MICROS } from '../domain/api-key.decider';
import { KeyLimits } from '../domain/api-key.events';

export const MAX_PER_MINUTE = 2_147_483_647;
export const MAX_MODELS = 500;
const MAX_CAP = formatCredits(MAX_SPEND_CAP_MICROS).replace(/\.0+$/, '');

type Read<T> = { value: T } | { message: string };

/** A spending cap in credits ("12.5"), to µcr. */
export function readSpendCap(value: string): Read<bigint> {
  let micros: bigint | null = null;
  try {
    micros = parseCredits(value);
  } catch (err) {
    if (!(err instanceof MoneyFormatError)) throw err;
  }
  if (micros !== null && micros >= 0n && micros <= MAX_SPEND_CAP_MICROS) return { value: micros };
  return {
    message:
      micros !== null && micros > MAX_SPEND_CAP_MICROS
        ? `must be at most ${MAX_CAP} credits, got ${JSON.stringify(value)}`
        : `must be a number of credits >= 0 with at most 6 decimals, got ${JSON.stringify(value)}`,
  };
}

export function readPerMinute(n: number): Read<number> {
  if (Number.isSafeInteger(n) && n >= 1 && n <= MAX_PER_MINUTE) return { value: n };
  return { message: `must be a whole number from 1 to ${MAX_PER_MINUTE}, got ${JSON.stringify(n)}` };
}

export function readModels(models: string[]): Read<string[]> {
  const trimmed = models.map((m) => m.trim());
  if (trimmed.length > 0 && trimmed.length <= MAX_MODELS && trimmed.every((m) => m.length > 0 && m.length <= 200)) return { value: trimmed };
  return { message: `must be 1 to ${MAX_MODELS} model names of 1 to 200 characters` };
}

/** A zod transform from a reader: its message becomes the field's issue. */
export function via<I, T>(read: (input: I) => Read<T>) {
  return (input: I, ctx: z.RefinementCtx): T => {
    const r = read(input);
    if ('value' in r) return r.value;
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  };
}

/** The limits as JSON: each field left out keeps its value, null removes the limit. */
export const keyLimitsJson = z
  .object({
    models: z.array(z.string().max(200)).max(MAX_MODELS).transform(via(readModels)).nullable().optional(),
    spendCap: z.string().max(40).transform(via(readSpendCap)).nullable().optional(),
    expiresAt: z.string().max(40).pipe(instant).nullable().optional(),
    rpm: z.number().transform(via(readPerMinute)).nullable().optional(),
    tpm: z.number().transform(via(readPerMinute)).nullable().optional(),
  })
  .strict();

export type KeyLimitsJson = z.input<typeof keyLimitsJson>;

export function limitsPatchOf(j: z.output<typeof keyLimitsJson>): Partial<KeyLimits> {
  const patch: Partial<KeyLimits> = {};
  if (j.models !== undefined) patch.models = j.models;
  if (j.spendCap !== undefined) patch.spendCapMicros = j.spendCap;
  if (j.expiresAt !== undefined) patch.expiresAt = j.expiresAt === null ? null : j.expiresAt.toISOString();
  if (j.rpm !== undefined) patch.rpm = j.rpm;
  if (j.tpm !== undefined) patch.tpm = j.tpm;
  return patch;
}
