/**
 * Streams at a real model's pace (issue 23), through the gateway and straight to the fake
 * upstream, which paces its answer from markers in the prompt (test/support/fake-upstream.ts),
 * so both paths get the same bytes at the same rhythm:
 *
 * - realistic(): one connection, one stream at a time; the first chunk after 50 ms, then 100
 *   chunks 10 ms apart. What the gateway adds to the time to first byte, with an upstream that
 *   takes as long as a fast model to start (the hold's commit can hide in those 50 ms).
 * - manyStreams(): 2,000 streams open at once, 50 chunks 200 ms apart (10 s each, 10,000 chunks/s
 *   in all): errors, the gateway's peak memory while they run, and the delay it adds between
 *   chunks, to the first byte and to a whole stream; the minimal proxy under the same load is
 *   the yardstick (its CPU per stream and the delay it adds). They are opened evenly over `rampMs` (2 s by
 *   default, so all 2,000 are open together for 8 s): clients do not arrive in one instant, and a
 *   herd of 2,000 connects in one millisecond measures the kernel's accept queue and the load
 *   generator, direct as much as through the gateway.
 *
 * "First byte" is the first byte of the body (the gateway sends its headers with it).
 */
import { Pool } from 'undici';
import { percentile, round } from './load';
import { Servers, Target } from './bench-servers';
import { cpuBetween, cpuByPid, cpuSeconds, rssMiB } from './processes';

const MODEL = 'gpt-4o-mini';

/** A streamed chat request whose answer has `chunks` SSE events (role, words, finish, usage, [DONE]). */
function pacedBody(chunks: number, firstByteMs: number, chunkMs: number): string {
  const words = chunks - 4;
  return JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: `Tell me a story. [first-byte-ms:${firstByteMs}] [chunk-ms:${chunkMs}] [reply:${words}]` }],
    max_tokens: words + 16,
    stream: true,
    stream_options: { include_usage: true },
  });
}

interface StreamTiming {
  ok: boolean;
  status: number;
  ttfbMs: number;
  totalMs: number;
  /** Gaps between body chunks as they arrived, ms. */
  gaps: number[];
  error?: string;
}

async function timedStream(pool: Pool, path: string, key: string, body: string): Promise<StreamTiming> {
  const started = performance.now();
  let first = 0;
  let last = 0;
  const gaps: number[] = [];
  let tail = '';
  try {
    const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    for await (const chunk of res.body) {
      const now = performance.now();
      if (first === 0) first = now;
      else gaps.push(now - last);
      last = now;
      tail = (tail + (chunk as Buffer).toString('latin1')).slice(-64);
    }
    const ended = performance.now();
    const ok = res.statusCode === 200 && tail.trimEnd().endsWith('data: [DONE]');
    return { ok, status: res.statusCode, ttfbMs: (first || ended) - started, totalMs: ended - started, gaps, error: ok ? undefined : `HTTP ${res.statusCode}` };
  } catch (err) {
    return { ok: false, status: 0, ttfbMs: 0, totalMs: performance.now() - started, gaps, error: (err as Error).message };
  }
}

const sorted = (xs: number[]) => Float64Array.from(xs).sort();
const p = (xs: number[], q: number) => round(percentile(sorted(xs), q), 3);

export interface RealisticFigures {
  ttfb_p50_ms_realistic_direct: number;
  ttfb_p50_ms_realistic_gateway: number;
  added_ttfb_p50_ms_realistic: number;
  added_total_p50_ms_realistic: number;
  realistic_samples: number;
  realistic_errors: number;
  /** Streams the gateway answered whole, the warm-up's included (for the billing check). */
  realistic_gateway_answers: number;
}

/**
 * Runs `work` with the gateway profiled (BENCH_PROFILE: proxy.bench.ts starts V8's profiler
 * before and stops it after); the identity when the gateway is not profiled.
 */
export type Profiled = <T>(work: () => Promise<T>) => Promise<T>;
const unprofiled: Profiled = (work) => work();

/** One connection per path, `samples` streams each, the two paths taking turns. */
export async function realistic(s: Servers, samples: number, profiled: Profiled = unprofiled): Promise<RealisticFigures> {
  const body = pacedBody(100, 50, 10);
  const targets: Target[] = ['direct', 'gateway'];
  const pools = Object.fromEntries(targets.map((t) => [t, new Pool(s.urls[t], { connections: 1 })])) as Record<string, Pool>;
  const runs: Record<string, StreamTiming[]> = { direct: [], gateway: [] };
  let warmGateway = 0;
  try {
    let warm = 0;
    for (const t of targets) if ((await timedStream(pools[t], '/v1/chat/completions', s.keys[t], body)).ok && t === 'gateway') warm++; // connection open, code paths hot
    warmGateway = warm;
    await profiled(async () => {
      for (let i = 0; i < samples; i++) {
        for (const t of i % 2 ? [...targets].reverse() : targets) runs[t].push(await timedStream(pools[t], '/v1/chat/completions', s.keys[t], body));
      }
    });
  } finally {
    await Promise.all(Object.values(pools).map((pool) => pool.close()));
  }
  const good = (t: string) => runs[t].filter((r) => r.ok);
  const ttfb = (t: string) => p(good(t).map((r) => r.ttfbMs), 50);
  const total = (t: string) => p(good(t).map((r) => r.totalMs), 50);
  return {
    ttfb_p50_ms_realistic_direct: ttfb('direct'),
    ttfb_p50_ms_realistic_gateway: ttfb('gateway'),
    added_ttfb_p50_ms_realistic: round(ttfb('gateway') - ttfb('direct'), 3),
    added_total_p50_ms_realistic: round(total('gateway') - total('direct'), 3),
    realistic_samples: samples,
    realistic_errors: runs.direct.length + runs.gateway.length - good('direct').length - good('gateway').length,
    realistic_gateway_answers: good('gateway').length + warmGateway,
  };
}

interface ManyRun {
  timings: StreamTiming[];
  seconds: number;
  peakRssMiB: number | null;
  /** CPU seconds the process answering (the fake upstream when direct, else the gateway) and Postgres spent on the run. */
  cpu: { server: number; postgres: number };
}

/** `count` streams opened at once on `target`, each on a connection of its own; the gateway's RSS sampled meanwhile. */
async function manyOn(s: Servers, target: Target, count: number, body: string, rampMs: number): Promise<ManyRun> {
  const serverPid = { direct: s.upstream.pid, minimal: s.minimal.pid, gateway: s.gateway.pid }[target];
  const cpuBefore = { server: cpuSeconds(serverPid) ?? 0, postgres: cpuByPid('postgres') };
  const pool = new Pool(s.urls[target], { connections: count, pipelining: 1, keepAliveTimeout: 60_000 });
  let peak: number | null = null;
  const sample = () => {
    const rss = rssMiB(target === 'minimal' ? s.minimal.pid : s.gateway.pid);
    if (rss !== null) peak = Math.max(peak ?? 0, rss);
  };
  const sampler = setInterval(sample, 100);
  const started = performance.now();
  try {
    const opened = (i: number) => new Promise<void>((resolve) => setTimeout(resolve, (i * rampMs) / count));
    const timings = await Promise.all(Array.from({ length: count }, (_, i) => opened(i).then(() => timedStream(pool, '/v1/chat/completions', s.keys[target], body))));
    sample();
    const cpu = { server: (cpuSeconds(serverPid) ?? 0) - cpuBefore.server, postgres: cpuBetween(cpuBefore.postgres, cpuByPid('postgres')) };
    return { timings, seconds: (performance.now() - started) / 1000, peakRssMiB: peak, cpu };
  } finally {
    clearInterval(sampler);
    await pool.close();
  }
}

export interface ManyStreamsFigures {
  streams_2000_errors: number;
  streams_2000_peak_rss_mib: number | null;
  streams_2000_added_chunk_p99_ms: number;
  streams_2000_ttfb_p99_ms: number;
  streams_2000_added_total_p50_ms: number;
  /** The gateway's CPU per stream (admission, 50 chunks relayed and metered, settle), ms. */
  streams_2000_gateway_cpu_ms_per_stream: number;
  /** The minimal proxy (minimal-proxy.ts) under the same load: the yardstick for the gateway's figures above. */
  streams_2000_minimal_errors: number;
  streams_2000_minimal_added_total_p50_ms: number;
  /** A bare proxy's CPU per stream (accept, connect upstream, 50 chunks piped), ms. */
  streams_2000_minimal_cpu_ms_per_stream: number;
  streams_2000_minimal_peak_rss_mib: number | null;
  streams_2000_detail: Record<string, unknown>;
}

/**
 * Direct first, then the minimal proxy (the yardstick: what a bare Node proxy costs per stream
 * under the same load), then the gateway, `count` streams of 50 chunks 200 ms apart each time.
 */
export async function manyStreams(s: Servers, count: number, rampMs: number, log: (msg: string) => void, profiled: Profiled = unprofiled): Promise<ManyStreamsFigures> {
  const body = pacedBody(50, 0, 200);
  const direct = await manyOn(s, 'direct', count, body, rampMs);
  log(`${count} streams direct: ${direct.timings.filter((t) => !t.ok).length} errors in ${round(direct.seconds, 1)} s`);
  const minimal = await manyOn(s, 'minimal', count, body, rampMs);
  log(`${count} streams through the minimal proxy: ${minimal.timings.filter((t) => !t.ok).length} errors in ${round(minimal.seconds, 1)} s, peak RSS ${minimal.peakRssMiB === null ? '?' : round(minimal.peakRssMiB, 1)} MiB`);
  const gateway = await profiled(() => manyOn(s, 'gateway', count, body, rampMs));
  const failed = gateway.timings.filter((t) => !t.ok);
  log(`${count} streams through the gateway: ${failed.length} errors in ${round(gateway.seconds, 1)} s, peak RSS ${gateway.peakRssMiB === null ? '?' : round(gateway.peakRssMiB, 1)} MiB`);
  const figures = (run: ManyRun) => {
    const ok = run.timings.filter((t) => t.ok);
    return {
      ttfb_p50_ms: p(ok.map((t) => t.ttfbMs), 50),
      ttfb_p99_ms: p(ok.map((t) => t.ttfbMs), 99),
      total_p50_ms: p(ok.map((t) => t.totalMs), 50),
      total_p99_ms: p(ok.map((t) => t.totalMs), 99),
      chunk_gap_p50_ms: p(ok.flatMap((t) => t.gaps), 50),
      chunk_gap_p99_ms: p(ok.flatMap((t) => t.gaps), 99),
      errors: run.timings.length - ok.length,
      seconds: round(run.seconds, 2),
      // CPU per stream (admission, 50 chunks, settle): unlike the timings, barely moved by outside load.
      server_cpu_ms_per_stream: round((run.cpu.server * 1000) / run.timings.length, 3),
      server_cores: round(run.cpu.server / run.seconds),
      postgres_cpu_ms_per_stream: round((run.cpu.postgres * 1000) / run.timings.length, 3),
    };
  };
  const d = figures(direct);
  const m = figures(minimal);
  const g = figures(gateway);
  const errorKinds: Record<string, number> = {};
  for (const t of failed) errorKinds[t.error ?? 'incomplete'] = (errorKinds[t.error ?? 'incomplete'] ?? 0) + 1;
  return {
    streams_2000_errors: g.errors,
    streams_2000_peak_rss_mib: gateway.peakRssMiB === null ? null : round(gateway.peakRssMiB, 1),
    streams_2000_added_chunk_p99_ms: round(g.chunk_gap_p99_ms - d.chunk_gap_p99_ms, 3),
    streams_2000_ttfb_p99_ms: g.ttfb_p99_ms,
    streams_2000_added_total_p50_ms: round(g.total_p50_ms - d.total_p50_ms, 3),
    streams_2000_gateway_cpu_ms_per_stream: g.server_cpu_ms_per_stream,
    streams_2000_minimal_errors: m.errors,
    streams_2000_minimal_added_total_p50_ms: round(m.total_p50_ms - d.total_p50_ms, 3),
    streams_2000_minimal_cpu_ms_per_stream: m.server_cpu_ms_per_stream,
    streams_2000_minimal_peak_rss_mib: minimal.peakRssMiB === null ? null : round(minimal.peakRssMiB, 1),
    streams_2000_detail: { streams: count, opened_over_ms: rampMs, direct: d, minimal: m, gateway: g, gateway_error_kinds: errorKinds },
  };
}
