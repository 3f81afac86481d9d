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
  const value = `${day}:${seal(key, plaintext, aad(day, part, holdId))}`;
  if (readerHere) remember(value, { key, part, holdId, plaintext, at: performance.now() });
  return value;
}

/**
 * What this process sealed lately, for a read model in the same process to open without
 * AES-GCM. `npm start` runs the read models in the API: every request's hold and settle were
 * sealed there (sealKeyId, sealUsage) and opened again a few milliseconds later by the key-spend
 * and daily-usage read models, and the opens were ~3.5% of that process's CPU per request.
 *
 * A value is taken from here only when it is, character for character, one this process sealed,
 * with a key of the same bytes and for the same part and hold (so the same associated data):
 * opening it would give exactly this plaintext, which is all the shortcut returns. Anything else
 * (another process's value, an altered one, another key, part or hold) is opened as before, and
 * fails as before. A day whose key is gone never gets here: the unsealer refuses it first.
 *
 * Remembered only once this process has opened a sealed value (it runs a read model): an API
 * without read models keeps nothing. At most RECENT_MAX values, none older than RECENT_MS
 * (a read model in the process reads them well within that; later, it opens them itself):
 * metadata only (key ids and token counts, never content), as on the events themselves.
 */
interface Sealed {
  key: Buffer;
  part: SealedPart;
  holdId: string;
  plaintext: string;
  at: number;
}

const RECENT_MAX = 4096;
const RECENT_MS = 60_000;
const recent = new Map<string, Sealed>();
let readerHere = false;

function remember(value: string, s: Sealed): void {
  recent.set(value, s);
  // Oldest first (a Map keeps insertion order): drop past the count, and what has aged out.
  for (const [v, old] of recent) {
    if (recent.size <= RECENT_MAX && s.at - old.at < RECENT_MS) break;
    recent.delete(v);
  }
}

function sealedHere(key: Buffer, value: string, part: SealedPart, holdId: string): string | undefined {
  const s = recent.get(value);
  if (s === undefined || s.part !== part || s.holdId !== holdId || !s.key.equals(key)) return undefined;
  return s.plaintext;
}

/** For tests: how many values this process remembers, and forgetting them (and that a reader ran). */
export const recentSeals = {
  size: () => recent.size,
  clear: (): void => {
    recent.clear();
    readerHere = false;
  },
};

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
  readerHere = true;
  return sealedHere(key, value, part, holdId) ?? open(key, value.slice(11), aad(day, part, holdId));
}

export const sealUsage = (key: Buffer, day: string, holdId: string, usage: UsageFigures): string =>
  sealPart(key, day, 'usage', holdId, JSON.stringify(usage));

export function openUsage(key: Buffer, value: string, holdId: string): UsageFigures {
  return JSON.parse(openPart(key, value, 'usage', holdId)) as UsageFigures;
}
