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
 * No allocation per byte: strings are skipped with Buffer.indexOf, structure is read byte by
 * byte, and keys are compared as byte ranges in place; only an object with many keys, or with
 * keys that need decoding, gets a Set of strings. Invalid JSON is not this pass's business
 * (JSON.parse reports it next); it only never throws on it.
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

/** Up to this many keys an object's keys are compared as bytes, in place; beyond, in a Set. */
const LINEAR_KEYS = 16;

export function checkJsonStructure(buf: Buffer, maxDepth = MAX_JSON_DEPTH): StructureProblem | null {
  // Per open container, at depth d (1-based): whether it is an object, where its keys start on
  // the key stack (keys kept as byte ranges, no strings), and its Set once it has switched to one
  // (many keys, or a key with escapes or non-ASCII bytes, which must be compared decoded).
  const isObject = new Uint8Array(maxDepth + 2);
  const keyBase = new Int32Array(maxDepth + 2);
  const sets: (Set<string> | null)[] = [];
  let keyStart = new Int32Array(64);
  let keyEnd = new Int32Array(64);
  let top = 0;
  let depth = 0;
  let expectKey = false;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = closingQuote(buf, i + 1);
      if (end < 0) return null; // unterminated: JSON.parse will say so
      if (expectKey && isObject[depth] === 1) {
        const start = i + 1;
        let set = sets[depth];
        const plain = isPlain(buf, start, end);
        if (!set && (!plain || top - keyBase[depth] >= LINEAR_KEYS)) {
          set = new Set<string>();
          for (let k = keyBase[depth]; k < top; k++) set.add(buf.toString('utf8', keyStart[k], keyEnd[k]));
          top = keyBase[depth];
          sets[depth] = set;
        }
        if (set) {
          const key = plain ? buf.toString('utf8', start, end) : decodedKey(buf, start, end);
          if (key !== null) {
            if (set.has(key)) return { kind: 'duplicate_key', key };
            set.add(key);
          }
        } else {
          for (let k = keyBase[depth]; k < top; k++) {
            if (sameBytes(buf, keyStart[k], keyEnd[k], start, end)) return { kind: 'duplicate_key', key: buf.toString('utf8', start, end) };
          }
          if (top === keyStart.length) {
            keyStart = grow(keyStart);
            keyEnd = grow(keyEnd);
          }
          keyStart[top] = start;
          keyEnd[top++] = end;
        }
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return { kind: 'too_deep', maxDepth };
      expectKey = c === OPEN_OBJECT;
      isObject[depth] = expectKey ? 1 : 0;
      keyBase[depth] = top;
      sets[depth] = null;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth > 0) {
        top = keyBase[depth]; // its keys go
        sets[depth--] = null;
      }
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = isObject[depth] === 1;
    }
  }
  return null;
}

/** No escapes and only ASCII: the bytes are the key, so equal bytes are equal keys. */
function isPlain(buf: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const b = buf[k];
    if (b === BACKSLASH || b >= 0x80) return false;
  }
  return true;
}

function sameBytes(buf: Buffer, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let a = s1, b = s2; a < e1; a++, b++) if (buf[a] !== buf[b]) return false;
  return true;
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
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

/** A key's decoded text, as JSON.parse reads it; null when its escapes are invalid (JSON.parse refuses it next). */
function decodedKey(buf: Buffer, start: number, end: number): string | null {
  try {
    return JSON.parse(buf.toString('utf8', start - 1, end + 1)) as string;
  } catch {
    return null;
  }
}
