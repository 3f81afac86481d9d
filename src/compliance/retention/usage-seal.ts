/**
 * Usage metadata sealed with a key of its UTC day (pure: keys come in as arguments).
 *
 * A sealed value is `<YYYY-MM-DD>:v1:<iv>:<tag>:<ciphertext>`: the day names the key, the rest
 * is platform/crypto/aes-gcm's format. The associated data binds the value to its day, its hold
 * and what it is (`usage` or `key`), so a value copied into another event fails to open instead
 * of lying. Once the day's key is destroyed, nothing opens it again: that is retention.
 */
import { AES_KEY_BYTES, isSealed, open, seal } from '../../platform/crypto/aes-gcm';
import { UsageFigures } from '../../ledger/domain/events';

export type SealedPart = 'usage' | 'key';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** The UTC day of an instant, `YYYY-MM-DD`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

export const addDays = (day: string, n: number): string => utcDay(new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS));

/**
 * The first day still readable at `now`: a day is forgotten as soon as its first instant is
 * more than `retentionDays` old, so no record is ever readable past retention (the youngest of
 * the day's records go up to a day early: the promise is "at most").
 */
export function firstKeptDay(now: Date, retentionDays: number): string {
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  const day = utcDay(new Date(cutoff));
  return Date.parse(`${day}T00:00:00.000Z`) === cutoff ? day : addDays(day, 1);
}

/** The instant before which request-level rows (the request log) are deleted. */
export const retentionCutoff = (now: Date, retentionDays: number): Date => new Date(now.getTime() - retentionDays * DAY_MS);

const aad = (day: string, part: SealedPart, holdId: string) => `tollgate-usage:${day}:${part}:${holdId}`;

export function sealPart(key: Buffer, day: string, part: SealedPart, holdId: string, plaintext: string): string {
  if (!DAY.test(day)) throw new Error(`not a day: ${day}`);
  return `${day}:${seal(key, plaintext, aad(day, part, holdId))}`;
}

/** The day a sealed value names, or null when the value is not one. */
export function sealedDay(value: unknown): string | null {
  if (typeof value !== 'string' || value.length < 12 || value[10] !== ':') return null;
  const day = value.slice(0, 10);
  return DAY.test(day) && isSealed(value.slice(11)) ? day : null;
}

/** The plaintext; throws when the value is malformed, altered, or belongs to another hold or day. */
export function openPart(key: Buffer, value: string, part: SealedPart, holdId: string): string {
  const day = sealedDay(value);
  if (!day || key.length !== AES_KEY_BYTES) throw new Error('not a sealed usage value');
  return open(key, value.slice(11), aad(day, part, holdId));
}

export const sealUsage = (key: Buffer, day: string, holdId: string, usage: UsageFigures): string =>
  sealPart(key, day, 'usage', holdId, JSON.stringify(usage));

export function openUsage(key: Buffer, value: string, holdId: string): UsageFigures {
  return JSON.parse(openPart(key, value, 'usage', holdId)) as UsageFigures;
}
