/**
 * The `lowBalanceAlert` field as people send it: a decimal string of credits with at most 6
 * decimals ("2.50"), more than 0 and at most MAX_CREDITS_TEXT, or null to turn the alert off.
 * A JSON number is refused: money never passes through a float here.
 */
import { z } from 'zod';
import { MAX_CREDITS_TEXT, MAX_MICROS, formatCredits, parseCredits } from '../../shared/money';

export const lowBalanceAlertInput = z
  .string()
  .max(40, 'must be at most 40 characters')
  .regex(/^\d+(\.\d{1,6})?$/, 'must be a decimal string of credits with at most 6 decimals, such as "2.50" (or null to turn it off)')
  .transform((v) => parseCredits(v))
  .refine((v) => v > 0n, 'must be more than 0 (send null to turn the alert off)')
  .refine((v) => v <= MAX_MICROS, `must be at most ${MAX_CREDITS_TEXT}`)
  .nullable();

/** As GET /api/me shows it: "2.500000", or null. */
export const lowBalanceAlertView = (threshold: bigint | null): string | null => (threshold === null ? null : formatCredits(threshold));
