/**
 * Money is bigint micro-credits (µcr): 1 credit = 1 USD = 1,000,000 µcr. Never a float.
 * Parsing and formatting go through decimal strings so no value is ever rounded silently.
 */
import { DomainError } from './domain-error';

export type Micros = bigint;

export const MICROS_PER_CREDIT = 1_000_000n;

/**
 * The largest amount, and the largest balance, the ledger ever accepts: 1,000,000,000 credits
 * (10^15 µcr). Below 2^53 (about 9.007 × 10^15), so every figure stays exact when something on
 * the way holds it as a double (JSON numbers, Lua in Redis, a dashboard), and far below
 * Postgres's bigint, so a read model's per-account column can never overflow. Sums over all
 * accounts and all history (house accounts such as revenue) are stored as numeric instead.
 */
export const MAX_MICROS = 10n ** 15n;
export const MAX_CREDITS_TEXT = '1,000,000,000';

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,6}))?$/;

export class MoneyFormatError extends DomainError<'invalid_amount'> {
  override readonly name = 'MoneyFormatError';
  override readonly showsCode = false;

  constructor(input: string) {
    super('invalid_amount', `not an amount of credits with at most 6 decimals: ${JSON.stringify(input)}`);
  }
}

/** True when |micros| is within the ledger's bound. */
export const withinBound = (micros: Micros): boolean => micros <= MAX_MICROS && micros >= -MAX_MICROS;

/** "12.5" → 12_500_000n. Rejects more than 6 decimals rather than rounding. */
export function parseCredits(input: string): Micros {
  const m = DECIMAL.exec(input.trim());
  if (!m) throw new MoneyFormatError(input);
  const [, sign, whole, frac = ''] = m;
  const micros = BigInt(whole) * MICROS_PER_CREDIT + BigInt(frac.padEnd(6, '0'));
  return sign ? -micros : micros;
}

/**
 * A whole number of µcr as Postgres returns a numeric (a decimal string) or an int8 (bigint,
 * see platform/database/pg.ts) → bigint, exactly. Never through a Number: a sum over history
 * can pass 2^53. Anything else (a fraction, NaN) is an error, not a rounding.
 */
export function microsFromDb(value: string | bigint): Micros {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new RangeError(`not a whole number of µcr: ${String(value)}`);
}

/** 12_500_000n → "12.500000": exact, always six decimals so columns line up and parse back. */
export function formatCredits(micros: Micros): string {
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const whole = abs / MICROS_PER_CREDIT;
  const frac = (abs % MICROS_PER_CREDIT).toString().padStart(6, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** ceil(a / b) for non-negative a and positive b: a cost is rounded up once, to a whole µcr. */
export function divCeil(a: bigint, b: bigint): bigint {
  if (b <= 0n || a < 0n) throw new RangeError('divCeil needs a >= 0 and b > 0');
  return (a + b - 1n) / b;
}
