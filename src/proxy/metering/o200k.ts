/**
 * Token counts with OpenAI's o200k_base encoding, loaded the first time a text is counted rather
 * than when the API starts. Most processes never count a token: holds are sized from the body's
 * bytes (input-bound.ts) and providers report usage. Only a request the byte bound prices out
 * (precise-bound.ts) or an answer without usable usage (estimate.ts: a cut stream, a client that
 * left) needs it, and that one request waits for the load once per process (~0.1 s).
 *
 * The vocabulary is the file gpt-tokenizer ships (`data/o200k_base.tiktoken`: a token's bytes in
 * base64 and its rank, a line each), kept in three typed arrays: every token's bytes end to end,
 * where each starts, and an open-addressing hash table of ranks by bytes (~6 MiB in all, outside
 * the JS heap). gpt-tokenizer's own encoding (its generated 2.2 MB module of 200,000 string
 * literals, a Map of them, the decoder) cost the API ~40 MiB of RSS once loaded, which every
 * gateway that saw one cut stream carried for the rest of its life (issue 23, "Memory"). Only a
 * count is needed here, never the token ids or decoding.
 *
 * The count is tiktoken's: the text split by o200k's pattern (gpt-tokenizer's, the same regex),
 * each piece's UTF-8 bytes one token when they are one, else merged pairwise, lowest rank first
 * (leftmost on a tie), as tiktoken's and gpt-tokenizer's byte-pair merge do. Special tokens
 * (`<|endoftext|>` in a prompt) are text to count, never a reason to throw. No text is kept: no
 * merge cache (gpt-tokenizer's kept pieces of up to 100,000 counted texts for the life of the
 * process). test/unit/proxy/metering/o200k.spec.ts holds the counts to gpt-tokenizer's own.
 */
import { readFileSync } from 'node:fs';
import type * as SplitPatterns from 'gpt-tokenizer/cjs/encodingParams/constants';

/** o200k_base's vocabulary in typed arrays: ranks by the bytes they stand for. */
class O200kRanks {
  private readonly mask: number;

  constructor(
    /** Every token's bytes, rank after rank. */
    private readonly bytes: Uint8Array,
    /** Where token `r`'s bytes start in `bytes` (and `r + 1`'s, where they end). */
    private readonly starts: Uint32Array,
    /** Open addressing by FNV-1a of the bytes: rank + 1, 0 where empty. */
    private readonly slots: Int32Array,
  ) {
    this.mask = slots.length - 1;
  }

  static fromTiktoken(file: Buffer): O200kRanks {
    // Lines "<base64 of the token's bytes> <rank>", ranks from 0 in order.
    let lines = 0;
    for (let i = 0; i < file.length; i++) if (file[i] === 0x0a) lines++;
    const bytes = new Uint8Array(Math.ceil((file.length * 3) / 4));
    const starts = new Uint32Array(lines + 1);
    let at = 0;
    let rank = 0;
    let i = 0;
    while (i < file.length) {
      const space = file.indexOf(0x20, i);
      const end = file.indexOf(0x0a, space);
      if (space < 0 || end < 0) throw new Error(`o200k_base.tiktoken: line ${rank + 1} is not "<base64> <rank>"`);
      if (Number(file.toString('latin1', space + 1, end)) !== rank) throw new Error(`o200k_base.tiktoken: line ${rank + 1} is not rank ${rank}`);
      starts[rank] = at;
      at = decodeBase64(file, i, space, bytes, at);
      rank++;
      i = end + 1;
    }
    starts[rank] = at;
    let size = 1;
    while (size < rank * 2) size *= 2;
    const ranks = new O200kRanks(bytes.slice(0, at), starts, new Int32Array(size));
    for (let r = 0; r < rank; r++) ranks.insert(r);
    return ranks;
  }

  /** The rank of bytes[start, end) of `piece`, or -1 when they are not one token. */
  rankOf(piece: Uint8Array, start: number, end: number): number {
    const { bytes, starts, slots, mask } = this;
    const length = end - start;
    for (let s = hash(piece, start, end) & mask; ; s = (s + 1) & mask) {
      const entry = slots[s];
      if (entry === 0) return -1;
      const r = entry - 1;
      const from = starts[r];
      if (starts[r + 1] - from !== length) continue;
      let k = 0;
      while (k < length && bytes[from + k] === piece[start + k]) k++;
      if (k === length) return r;
    }
  }

  private insert(r: number): void {
    const from = this.starts[r];
    for (let s = hash(this.bytes, from, this.starts[r + 1]) & this.mask; ; s = (s + 1) & this.mask) {
      if (this.slots[s] === 0) {
        this.slots[s] = r + 1;
        return;
      }
    }
  }
}

function hash(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

const BASE64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/** Decodes src[start, end) (standard base64, `=` padded) into out at `at`; returns where it ended. */
function decodeBase64(src: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
  let bits = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = src[i];
    if (c === 0x3d) break; // '='
    const v = c < 128 ? BASE64[c] : -1;
    if (v < 0) throw new Error('o200k_base.tiktoken: not base64');
    bits = (bits << 6) | v;
    n += 6;
    if (n >= 8) {
      n -= 8;
      out[at++] = (bits >> n) & 0xff;
    }
  }
  return at;
}

const INFINITE = 0x7fffffff;

/** Counts tokens, reusing its scratch arrays from one piece to the next (one count at a time: it is synchronous). */
class O200kCounter {
  private readonly encoder = new TextEncoder();
  private utf8 = new Uint8Array(1024);
  private starts = new Int32Array(1025);
  private ranks = new Int32Array(1025);

  constructor(
    private readonly vocabulary: O200kRanks,
    private readonly split: RegExp,
  ) {}

  count(text: string): number {
    let tokens = 0;
    for (const [piece] of text.matchAll(this.split)) tokens += this.piece(piece);
    return tokens;
  }

  private piece(piece: string): number {
    if (piece.length === 1 && piece.charCodeAt(0) < 0x80) return 1; // every ASCII byte is a token
    if (this.utf8.length < piece.length * 3) this.grow(piece.length * 3);
    const n = this.encoder.encodeInto(piece, this.utf8).written;
    const v = this.vocabulary;
    const b = this.utf8;
    if (v.rankOf(b, 0, n) >= 0) return 1;
    // Byte-pair merge: parts start at starts[0..parts), ranks[i] is the rank of parts i and i+1
    // together (INFINITE when they are no token, or i + 1 is the last part).
    const { starts, ranks } = this;
    let parts = n;
    for (let i = 0; i <= n; i++) starts[i] = i;
    for (let i = 0; i < n; i++) ranks[i] = i + 2 <= n ? rankOr(v, b, i, i + 2) : INFINITE;
    while (parts > 1) {
      let lowest = INFINITE;
      let at = -1;
      for (let i = 0; i < parts - 1; i++) {
        if (ranks[i] < lowest) {
          lowest = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      // Parts at and at + 1 become one: starts[at + 1] and ranks[at + 1]'s slot go.
      starts.copyWithin(at + 1, at + 2, parts + 1);
      ranks.copyWithin(at, at + 1, parts);
      parts--;
      ranks[at] = at + 2 <= parts ? rankOr(v, b, starts[at], starts[at + 2]) : INFINITE;
      if (at > 0) ranks[at - 1] = rankOr(v, b, starts[at - 1], starts[at + 1]);
    }
    return parts;
  }

  private grow(bytes: number): void {
    this.utf8 = new Uint8Array(bytes);
    this.starts = new Int32Array(bytes + 1);
    this.ranks = new Int32Array(bytes + 1);
  }
}

function rankOr(v: O200kRanks, b: Uint8Array, start: number, end: number): number {
  const r = v.rankOf(b, start, end);
  return r < 0 ? INFINITE : r;
}

let counter: O200kCounter | null = null;

function load(): O200kCounter {
  const file = readFileSync(require.resolve('gpt-tokenizer/data/o200k_base.tiktoken'));
  // Nothing of gpt-tokenizer is loaded before the first count (test/e2e/ops/start-up-modules.spec.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { O200K_TOKEN_SPLIT_REGEX } = require('gpt-tokenizer/cjs/encodingParams/constants') as typeof SplitPatterns;
  return new O200kCounter(O200kRanks.fromTiktoken(file), O200K_TOKEN_SPLIT_REGEX);
}

/** Tokens in `text` with o200k_base, special tokens counted as text. */
export function countO200kTokens(text: string): number {
  // A synchronous load on first use: its callers count inside synchronous code, and an
  // `import()` would make every one of them asynchronous for a once-per-process wait.
  counter ??= load();
  return counter.count(text);
}

/** Whether the encoding has been loaded in this process (for the test that start-up does not). */
export const o200kLoaded = (): boolean => counter !== null;
