/**
 * OpenAI's o200k_base encoding (gpt-tokenizer), loaded the first time a text is counted rather
 * than when the API starts. Building its tables (200,000 ranks in a Map, the strings of every
 * token) takes about 0.2 s and leaves 14 MiB of live heap, and the garbage of building them
 * grows the heap further: an API process that loaded it at start sat at ~196 MiB RSS idle,
 * one that did not at ~152 MiB. Most processes never count a token: holds are sized from the
 * body's bytes (input-bound.ts) and providers report usage. Only a request the byte bound
 * prices out (precise-bound.ts) or an answer without usable usage (estimate.ts) needs it, and
 * that one request waits for the load once per process.
 *
 * Its merge cache is turned off. gpt-tokenizer keeps the pieces of every text it has counted,
 * up to 100,000 of them, for ever: 27 MiB of heap after 2.7 MB of varied text, a store that
 * grows with traffic and holds fragments of prompts and answers long after their requests. Without
 * it a 110 KB text counted as fast or faster here (20-28 ms per count either way).
 */
import type * as O200kBase from 'gpt-tokenizer/cjs/encoding/o200k_base';

let encoding: typeof O200kBase | null = null;

// "<|endoftext|>" in a prompt is text to count, not a reason to throw.
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

function load(): typeof O200kBase {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('gpt-tokenizer/cjs/encoding/o200k_base') as typeof O200kBase;
  loaded.setMergeCacheSize(0);
  return loaded;
}

/** Tokens in `text` with o200k_base, special tokens counted as text. */
export function countO200kTokens(text: string): number {
  // A synchronous load on first use: its callers count inside synchronous code, and an
  // `import()` would make every one of them asynchronous for a once-per-process wait.
  encoding ??= load();
  return encoding.countTokens(text, TEXT_ONLY);
}

/** Whether the encoding has been loaded in this process (for the test that start-up does not). */
export const o200kLoaded = (): boolean => encoding !== null;
