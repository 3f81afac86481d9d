/**
 * What metering a relayed stream costs the gateway with many streams open at once (issue 23,
 * the 2,000 streams), in one process, without the network: `STREAMS` chat streams of `CHUNKS`
 * chunks each (the fake upstream's chunks of the proxy benchmark), their chunks interleaved as
 * they arrive when all are open (chunk 1 of every stream, then chunk 2, …), so what a stream
 * keeps lives while the others run, as it does in the gateway. Each chunk is parsed as it passes
 * and its events shown to the StreamMeter (the relay's tap), two ways, in alternating rounds:
 *
 * - `parser_before`: the SseParser as it was before issue 23's streams step (a character loop
 *   for line ends, every line sliced, then split at its colon), kept as it was in
 *   test/support/sse-reference.ts (the unit tests' oracle);
 * - `parser_now`: today's SseParser (src/proxy/streaming/sse.ts).
 *
 * Reports CPU per stream (µs; garbage collection included), and the heap in use once every stream
 * has all its chunks (before the streams end), per way. Run: `node dist/bench/proxy/sse-tap.bench.js`
 * (BENCH_STREAMS 2000, BENCH_CHUNKS 50, BENCH_ROUNDS 6); with --expose-gc for a collection
 * before each round. The last line of stdout is one JSON object.
 */
import { StreamMeter } from '../../src/proxy/metering/stream-meter';
import { SseEvent, SseParser } from '../../src/proxy/streaming/sse';
import { ReferenceSseParser } from '../../test/support/sse-reference';
import { round } from './load';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 2000);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);

/** Stream `s`'s chunks as the fake upstream writes a chat answer: role, words, finish, usage, [DONE]. */
function chunksOf(s: number): Buffer[] {
  const base = { id: `chatcmpl-fake${s}`, object: 'chat.completion.chunk', created: 1_765_000_000, model: 'gpt-4o-mini' };
  const ev = (o: object) => Buffer.from(`data: ${JSON.stringify({ ...base, ...o })}\n\n`);
  const out = [ev({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })];
  for (let i = 0; i < CHUNKS - 4; i++) out.push(ev({ choices: [{ index: 0, delta: { content: `word${i} ` }, finish_reason: null }] }));
  out.push(ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
  out.push(ev({ choices: [], usage: { prompt_tokens: 20, completion_tokens: CHUNKS - 4, total_tokens: CHUNKS + 16 } }));
  out.push(Buffer.from('data: [DONE]\n\n'));
  return out;
}

interface Way {
  open(): { push(chunk: Buffer): void; end(): StreamMeter };
}

const tapOf = (parser: { push(chunk: Buffer): SseEvent[] }) => {
  const meter = new StreamMeter('openai-chat');
  return {
    push: (chunk: Buffer) => {
      for (const ev of parser.push(chunk)) meter.push(ev);
    },
    end: () => meter,
  };
};

const WAYS: Record<string, Way> = {
  parser_before: { open: () => tapOf(new ReferenceSseParser()) },
  parser_now: { open: () => tapOf(new SseParser()) },
};

function runOnce(way: Way, streams: Buffer[][]): { cpuUs: number; heapMiB: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const open = streams.map(() => way.open());
  for (let c = 0; c < CHUNKS; c++) {
    // Each chunk is a fresh Buffer, as each read from the upstream's socket is.
    for (let s = 0; s < streams.length; s++) open[s].push(Buffer.from(streams[s][c]));
  }
  const heapMiB = process.memoryUsage().heapUsed / 1048576;
  let billed = 0;
  for (const o of open) if (o.end().finalUsage()) billed++;
  const used = process.cpuUsage(cpu);
  if (billed !== streams.length) throw new Error(`only ${billed} of ${streams.length} streams had their usage read`);
  return { cpuUs: used.user + used.system, heapMiB };
}

function main(): void {
  const streams = Array.from({ length: STREAMS }, (_, s) => chunksOf(s));
  const per: Record<string, { cpuUs: number[]; heapMiB: number[] }> = {};
  for (const name of Object.keys(WAYS)) per[name] = { cpuUs: [], heapMiB: [] };
  for (const name of Object.keys(WAYS)) runOnce(WAYS[name], streams); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? Object.keys(WAYS).reverse() : Object.keys(WAYS);
    for (const name of order) {
      const x = runOnce(WAYS[name], streams);
      per[name].cpuUs.push(x.cpuUs);
      per[name].heapMiB.push(x.heapMiB);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result: Record<string, unknown> = { streams: STREAMS, chunks: CHUNKS, rounds: ROUNDS };
  for (const name of Object.keys(WAYS)) {
    result[`${name}_cpu_us_per_stream`] = round(median(per[name].cpuUs) / STREAMS, 2);
    result[`${name}_heap_mib_all_open`] = round(median(per[name].heapMiB), 1);
  }
  result.ratio_now_to_before_cpu = round((result.parser_now_cpu_us_per_stream as number) / (result.parser_before_cpu_us_per_stream as number), 3);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
