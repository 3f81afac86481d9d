/**
 * What sizing a hold costs per request, by body size (issue 23, "a cheap worst case first"):
 *
 * - `byte_bound`: the bound every billed request pays (metering/input-bound.ts), one walk, no tokenizer.
 * - `precise_bound`: the tokenizer's bound (metering/precise-bound.ts), paid only by a request
 *   whose account cannot afford the byte bound, for an OpenAI o200k model, under HOLD_TOKENIZER_MAX_BYTES.
 * - `estimate`: where the tokenizer ran before (and still runs): the input estimate of a request
 *   whose usage the provider did not give (a cut stream), metering/estimate.ts, sampled past 32k chars.
 *
 * Bodies are chat requests of English-like text. In-process, one core; each figure is the median
 * of 7 batches of at least 200 ms. The last line of stdout is one JSON object.
 * Run: npm run bench:tokenizer (after a build), or node dist/bench/proxy/tokenizer.js.
 */
import { cpus, loadavg } from 'node:os';
import { estimateInputTokens } from '../../src/proxy/metering/estimate';
import { inputTokenBound } from '../../src/proxy/metering/input-bound';
import { preciseInputBound } from '../../src/proxy/metering/precise-bound';
import { SHIPPED_PRICE_TABLE } from '../../src/proxy/pricing/price-table';
import { round } from './load';

const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'gateway', 'ledger', 'stream', 'token', 'hold', 'answer', 'request', 'credit'];
const SIZES_KB = [1, 10, 100, 250];
const price = SHIPPED_PRICE_TABLE.find((p) => p.model === 'gpt-4o-mini')!;

function body(kb: number): { parsed: unknown; bytes: number } {
  const words: string[] = [];
  let i = 0;
  let length = 0;
  while (length < kb * 1024 - 200) {
    const w = WORDS[(i * 7 + (i >> 3)) % WORDS.length];
    words.push(w);
    length += w.length + 1;
    i++;
  }
  const parsed = { model: price.model, max_tokens: 256, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: words.join(' ') }] };
  return { parsed, bytes: Buffer.byteLength(JSON.stringify(parsed)) };
}

/** Microseconds per call: the median of 7 batches, each repeated until it lasts 200 ms. */
function microsPerCall(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn(); // warm
  const batches: number[] = [];
  for (let b = 0; b < 7; b++) {
    let n = 0;
    const started = performance.now();
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = performance.now() - started;
    } while (elapsed < 200);
    batches.push((elapsed * 1000) / n);
  }
  batches.sort((a, b) => a - b);
  return round(batches[3], 2);
}

function main(): void {
  const result: Record<string, unknown> = {};
  for (const kb of SIZES_KB) {
    const { parsed, bytes } = body(kb);
    const cheap = microsPerCall(() => inputTokenBound('openai.chat', parsed, bytes, price));
    const precise = microsPerCall(() => preciseInputBound('openai.chat', parsed, bytes, price, price.model, Number.MAX_SAFE_INTEGER));
    const estimate = microsPerCall(() => estimateInputTokens('openai.chat', parsed, 'openai'));
    result[`byte_bound_us_${kb}kb`] = cheap;
    result[`precise_bound_us_${kb}kb`] = precise;
    result[`estimate_us_${kb}kb`] = estimate;
    result[`byte_bound_tokens_${kb}kb`] = inputTokenBound('openai.chat', parsed, bytes, price);
    result[`precise_bound_tokens_${kb}kb`] = preciseInputBound('openai.chat', parsed, bytes, price, price.model, Number.MAX_SAFE_INTEGER);
    process.stderr.write(`[bench:tokenizer] ${kb} KB: byte bound ${cheap} µs, precise ${precise} µs, estimate ${estimate} µs\n`);
  }
  Object.assign(result, {
    // On the admission path: before this change no tokenizer ran there (holds were sized from bytes
    // alone); now it runs only for a request the byte bound priced out of the account.
    tokenizer_runs_on_admission_when_byte_bound_affordable: 0,
    tokenizer_runs_on_admission_when_byte_bound_refused: 1,
    model: price.model,
    cpus: cpus().length,
    load_average: loadavg().map((n) => round(n, 2)),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
