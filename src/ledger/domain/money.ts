/**
 * Money is bigint micro-credits (µcr): 1 credit = 1 USD = 1,000,000 µcr. Never a float.
 * Parsing and formatting go through decimal strings so no value is ever rounded silently.
 */
export type Micros = bigint;

export const MICROS_PER_CREDIT = 1_000_000n;

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,6}))?$/;

export class MoneyFormatError extends Error {
  readonly code = 'invalid_amount';
  constructor(input: string) {
    super(`not an amount of credits with at most 6 decimals: ${JSON.stringify(input)}`);
    this.name = 'MoneyFormatError';
  }
}

/** "12.5" → 12_500_000n. Rejects more than 6 decimals rather than rounding. */
export function parseCredits(input: string): Micros {
  const m = DECIMAL.exec(input.trim());
  if (!m) throw new MoneyFormatError(input);
  const [, sign, whole, frac = ''] = m;
  const micros = BigInt(whole) * MICROS_PER_CREDIT + BigInt(frac.padEnd(6, '0'));
  return sign ? -micros : micros;
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
