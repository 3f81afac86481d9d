/**
 * One autocannon run of GETs at one URL, with every 2xx latency kept at sub-millisecond
 * resolution (autocannon's own histogram counts whole milliseconds) and every other status
 * counted, so a run that answered errors says so instead of timing them.
 */
import autocannon from 'autocannon';
import { percentile, round } from '../proxy/load';

export interface GetLoadResult {
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  seconds: number;
  /** Every 2xx latency, sorted (to pool runs). */
  latencies: Float64Array;
}

function summary(ok: number, non2xx: number, errors: number, statuses: Record<string, number>, seconds: number, sorted: Float64Array): GetLoadResult {
  return {
    rps: round(ok / seconds, 1),
    ok,
    non2xx,
    errors,
    statuses,
    p50_ms: round(percentile(sorted, 50), 3),
    p95_ms: round(percentile(sorted, 95), 3),
    p99_ms: round(percentile(sorted, 99), 3),
    seconds,
    latencies: sorted,
  };
}

/** Several short runs of one route as one: counts and seconds added, latencies pooled. */
export function pooled(runs: GetLoadResult[]): GetLoadResult {
  const all = new Float64Array(runs.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of runs) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const sum = (f: (r: GetLoadResult) => number) => runs.reduce((n, r) => n + f(r), 0);
  return summary(sum((r) => r.ok), sum((r) => r.non2xx), sum((r) => r.errors), statuses, sum((r) => r.seconds), all.sort());
}

export function runGets(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<GetLoadResult> {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 14);
    let n = 0;
    const statuses: Record<string, number> = {};
    const instance = autocannon({ url, method: 'GET', headers, connections, duration: seconds, timeout: 30 }, (err, result) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      resolve(summary(result['2xx'], result.non2xx, result.errors + result.timeouts, statuses, result.duration, latencies.slice(0, n).sort()));
    });
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status < 200 || status >= 300) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        return;
      }
      if (n === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[n++] = ms;
    });
  });
}
