/**
 * Credits as the API spells them ("12.345678", six decimals at most) to exact micro-credits and
 * back. Sums of money are bigint; only the chart's y values become numbers, for drawing.
 */

const CREDITS = /^(-)?(\d+)(?:\.(\d{1,6}))?$/;

export function toMicros(credits: string): bigint {
  const m = CREDITS.exec(credits.trim());
  if (!m) throw new Error(`not an amount of credits: ${JSON.stringify(credits)}`);
  const micros = BigInt(m[2]) * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0'));
  return m[1] ? -micros : micros;
}

/** "$1,234.56" for whole cents, more decimals only when the amount has them (a request costs fractions of a cent). */
export function formatMicros(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = (abs / 1_000_000n).toLocaleString('en-US');
  let fraction = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${negative ? '−' : ''}$${whole}.${fraction}`;
}

export const formatCredits = (credits: string): string => formatMicros(toMicros(credits));

export const sumMicros = (amounts: Iterable<string>): bigint => {
  let total = 0n;
  for (const a of amounts) total += toMicros(a);
  return total;
};
