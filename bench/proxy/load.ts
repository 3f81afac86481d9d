/**
 * One load run with autocannon, with what its summary leaves out: latencies at sub-millisecond
 * resolution (autocannon's own histogram counts whole milliseconds, too coarse to see the
 * fraction of a millisecond a proxy adds) and every status code seen, so a run with errors says so.
 */
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string; // the full URL, path included
  headers: Record<string, string>;
  /** Default POST (the proxy's requests); GET for the account API's reads (no body). */
  method?: 'GET' | 'POST';
  body?: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  /** 2xx answers per second over the run. */
  rps: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts (no answer at all). */
  errors: number;
  timeouts: number;
  /** Status code → count, for every answer that was not 2xx. */
  statuses: Record<string, number>;
  /** Latency of 2xx answers, first byte of the request to the last of the answer, in ms. */
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  seconds: number;
  /** Every 2xx latency, sorted (to merge runs). */
  latencies: Float64Array;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

function summary(ok: number, non2xx: number, errors: number, timeouts: number, statuses: Record<string, number>, seconds: number, sorted: Float64Array): LoadResult {
  return {
    rps: round(ok / seconds, 1),
    ok,
    non2xx,
    errors,
    timeouts,
    statuses,
    p50_ms: round(percentile(sorted, 50), 3),
    p95_ms: round(percentile(sorted, 95), 3),
    p99_ms: round(percentile(sorted, 99), 3),
    seconds: round(seconds, 2),
    latencies: sorted,
  };
}

/** Several runs of the same load as one: counts and seconds added, latencies pooled. */
export function combine(runs: LoadResult[]): LoadResult {
  const all = new Float64Array(runs.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of runs) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const sum = (f: (r: LoadResult) => number) => runs.reduce((n, r) => n + f(r), 0);
  return summary(sum((r) => r.ok), sum((r) => r.non2xx), sum((r) => r.errors), sum((r) => r.timeouts), statuses, sum((r) => r.seconds), all.sort());
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let n = 0;
    const statuses: Record<string, number> = {};
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method ?? 'POST',
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        duration: spec.seconds,
        timeout: 30,
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const sorted = latencies.slice(0, n).sort();
        resolve(summary(result['2xx'], result.non2xx, result.errors, result.timeouts, statuses, result.duration, sorted));
      },
    );
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
