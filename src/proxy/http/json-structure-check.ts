/**
 * A pass over a request body's raw bytes, before JSON.parse, refusing two things JSON.parse
 * accepts and that hurt us:
 *
 * - Nesting deeper than MAX_JSON_DEPTH: 100,000 nested arrays parse, then overflow the stack of
 *   every recursive walk after (JSON.stringify, the token estimator), a 500 instead of a 400.
 * - A key twice in one object: JSON.parse keeps the last one, so we would price and check the
 *   allowlist on the last "model" while forwarding bytes an upstream may read the first of.
 *   Keys are compared decoded ("model" and "mod\u0065l" are the same key).
 *
 * No allocation per byte: strings are skipped with Buffer.indexOf, structure is read byte by byte,
 * and only object keys become JS strings (a Set per open object). Invalid JSON is not this
 * pass's business (JSON.parse reports it next); it only never throws on it.
 */
export const MAX_JSON_DEPTH = 128;

export type StructureProblem = { kind: 'too_deep'; maxDepth: number } | { kind: 'duplicate_key'; key: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

export function checkJsonStructure(buf: Buffer, maxDepth = MAX_JSON_DEPTH): StructureProblem | null {
  // keys[d] is the key set of the object open at depth d, or null for an array.
  const keys: (Set<string> | null)[] = [];
  let depth = 0;
  let expectKey = false;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = closingQuote(buf, i + 1);
      if (end < 0) return null; // unterminated: JSON.parse will say so
      if (expectKey && depth > 0) {
        const set = keys[depth - 1];
        if (set) {
          const key = keyText(buf, i + 1, end);
          if (key !== null) {
            if (set.has(key)) return { kind: 'duplicate_key', key };
            set.add(key);
          }
        }
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return { kind: 'too_deep', maxDepth };
      const isObject = c === OPEN_OBJECT;
      keys[depth - 1] = isObject ? new Set<string>() : null;
      expectKey = isObject;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth > 0) keys[--depth] = null; // let the key set go
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = depth > 0 && keys[depth - 1] !== null;
    }
  }
  return null;
}

/** The index of the quote closing a string whose content starts at `from`, or -1. */
function closingQuote(buf: Buffer, from: number): number {
  let at = buf.indexOf(QUOTE, from);
  while (at >= 0) {
    // Escaped when preceded by an odd number of backslashes.
    let slashes = 0;
    for (let k = at - 1; k >= from && buf[k] === BACKSLASH; k--) slashes++;
    if ((slashes & 1) === 0) return at;
    at = buf.indexOf(QUOTE, at + 1);
  }
  return -1;
}

/** A key's decoded text, as JSON.parse would read it; null when its escapes are invalid (JSON.parse refuses it later). */
function keyText(buf: Buffer, start: number, end: number): string | null {
  let escaped = false;
  for (let k = start; k < end && !escaped; k++) escaped = buf[k] === BACKSLASH;
  if (!escaped) return buf.toString('utf8', start, end);
  try {
    return JSON.parse(buf.toString('utf8', start - 1, end + 1)) as string;
  } catch {
    return null;
  }
}
