/**
 * The proxy benchmark's servers, each a process of its own (fake upstream, minimal proxy,
 * gateway, and the worker unless the gateway runs its jobs itself), the requests sent to them,
 * and one measured load run with the CPU each process spent meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
// Type only, but it puts the fake upstream in this build (dist/test/support/fake-upstream.js),
// which runs as a process of its own below.
import type { FakeUpstreamOptions } from '../../test/support/fake-upstream';
import { LoadResult, combine, round, runLoad } from './load';
import { Child, cpuBetween, cpuByPid, cpuSeconds, machineCpuSeconds, startChild, stopChild } from './processes';

const DIST = join(__dirname, '..', '..');
const MODEL = 'gpt-4o-mini';

/**
 * The node flags `npm start` and docker-compose run the gateway with (the minimal proxy gets them
 * too, to be fair); BENCH_GATEWAY_NODE_ARGS adds flags to the gateway's alone, to compare them.
 */
export const PRODUCTION_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=20'];
const EXTRA_GATEWAY_FLAGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * BENCH_GATEWAY_ENV='NAME=value NAME=value': settings for the gateway's processes alone (the API
 * and its worker), to compare two settings of one build, e.g. `LEDGER_SETTLE_JOIN_MS=0`. Names
 * are upper-case config names; anything else is refused, naming it, rather than silently ignored.
 */
export function gatewayEnvFrom(spec: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (spec ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!m) throw new Error(`BENCH_GATEWAY_ENV: "${pair}" is not NAME=value (NAME in upper case, no spaces)`);
    out[m[1]] = m[2];
  }
  return out;
}

export type Target = 'direct' | 'minimal' | 'gateway';
export type Mode = 'json' | 'stream';
export const TARGETS: Target[] = ['direct', 'minimal', 'gateway'];

const chat = (stream: boolean) =>
  JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Say something short about load testing a proxy.' },
    ],
    max_tokens: 64,
    // Usage asked for on every path, so all three carry the same bytes (the gateway asks for it
    // itself when a client does not, and then removes the extra chunk).
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
const BODIES: Record<Mode, string> = { json: chat(false), stream: chat(true) };

export interface Servers {
  upstream: Child;
  minimal: Child;
  gateway: Child;
  worker: Child | null;
  urls: Record<Target, string>;
  keys: Record<Target, string>;
}

/** The children's own environment: nothing of ours leaks in but PATH and HOME. */
export function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

export async function startServers(
  workDir: string,
  env: NodeJS.ProcessEnv,
  secret: string,
  opts: { profileDir: string | null; workersInApi: boolean },
): Promise<Servers> {
  const started: Child[] = [];
  try {
    return await startEach(workDir, env, secret, opts, started);
  } catch (err) {
    // One failed to start: the ones already running would outlive the benchmark.
    await Promise.all(started.map((c) => stopChild(c)));
    throw err;
  }
}

async function startEach(
  workDir: string,
  env: NodeJS.ProcessEnv,
  secret: string,
  opts: { profileDir: string | null; workersInApi: boolean },
  started: Child[],
): Promise<Servers> {
  const fakeKey = `sk-bench-${randomBytes(12).toString('hex')}`;
  const fake: FakeUpstreamOptions = { apiKey: fakeKey };
  const json = (line: string) => JSON.parse(line) as Record<string, string>;
  const upstream = await startChild('fake upstream', [join(DIST, 'test/support/fake-upstream.js'), '--api-key', fake.apiKey!], {
    env: baseEnv({}),
    logFile: join(workDir, 'fake-upstream.log'),
    ready: (line) => json(line).url,
  });
  started.push(upstream.child);
  const minimal = await startChild('minimal proxy', [...PRODUCTION_NODE_FLAGS, join(DIST, 'bench/proxy/minimal-proxy.js'), '--upstream', upstream.ready], {
    env: baseEnv({}),
    logFile: join(workDir, 'minimal-proxy.log'),
    ready: (line) => json(line).url,
  });
  started.push(minimal.child);
  const { profileDir } = opts;
  const nodeArgs = [...PRODUCTION_NODE_FLAGS, ...EXTRA_GATEWAY_FLAGS, ...(profileDir ? ['-r', join(__dirname, 'profiler-preload.js')] : [])];
  const gateway = await startChild('gateway', [...nodeArgs, join(DIST, 'src/main.js')], {
    env: {
      ...env,
      // One process (`npm start` as shipped) runs the read models and hold expiry itself.
      API_RUNS_WORKERS: opts.workersInApi ? 'true' : 'false',
      OPENAI_API_KEY: fakeKey,
      OPENAI_BASE_URL: `${upstream.ready}/v1`,
      HOST: '127.0.0.1',
      PORT: '0',
      ...(profileDir ? { TOLLGATE_BENCH_PROFILE_DIR: profileDir } : {}),
    },
    logFile: join(workDir, 'gateway.log'),
    ready: (line) => {
      const l = json(line);
      return l.msg === 'tollgate api listening' ? l.url : undefined;
    },
    timeoutMs: 60_000,
  });
  started.push(gateway.child);
  const worker = opts.workersInApi
    ? null
    : await startChild('worker', [...PRODUCTION_NODE_FLAGS, join(DIST, 'src/worker.js')], {
        env: { ...env, API_RUNS_WORKERS: 'false' },
        logFile: join(workDir, 'worker.log'),
        ready: (line) => (json(line).msg === 'worker started' ? true : undefined),
        timeoutMs: 60_000,
      });
  return {
    upstream: upstream.child,
    minimal: minimal.child,
    gateway: gateway.child,
    worker: worker?.child ?? null,
    urls: { direct: upstream.ready, minimal: minimal.ready, gateway: gateway.ready },
    keys: { direct: fakeKey, minimal: fakeKey, gateway: secret },
  };
}

/** One request of each kind on each path, read whole: the answers are what a client expects. */
export async function probe(s: Servers, target: Target, mode: Mode): Promise<void> {
  const res = await request(`${s.urls[target]}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.keys[target]}` },
    body: BODIES[mode],
  });
  const text = await res.body.text();
  const fail = (why: string) => new Error(`${target} ${mode} probe: ${why} (HTTP ${res.statusCode}, ${text.slice(0, 300)})`);
  if (res.statusCode !== 200) throw fail('not 200');
  if (target === 'gateway' && !res.headers['x-request-id']) throw fail('no x-request-id');
  if (mode === 'json') {
    const body = JSON.parse(text) as { choices?: unknown[]; usage?: { completion_tokens?: number } };
    if (!body.choices?.length || !body.usage?.completion_tokens) throw fail('no choices or usage');
  } else if (!text.trimEnd().endsWith('data: [DONE]') || !text.includes('"usage":{')) {
    throw fail('the stream did not end with its usage and [DONE]');
  }
}

export interface Measured extends LoadResult {
  /** Cores each process used during the run (CPU seconds / wall seconds). */
  cores: Record<string, number>;
  /** CPU time the server answering used (the fake upstream when direct), in ms. */
  cpuMs: number;
}

/** CPU ms the answering process spent per 2xx: unlike requests/s, barely moved by outside load. */
export const cpuPerRequest = (r: Measured) => (r.ok > 0 ? round(r.cpuMs / r.ok, 3) : 0);

export async function measure(s: Servers, target: Target, mode: Mode, connections: number, seconds: number): Promise<Measured> {
  const procs: Record<string, number> = { upstream: s.upstream.pid, minimal: s.minimal.pid, gateway: s.gateway.pid };
  if (s.worker) procs.worker = s.worker.pid;
  // Postgres and Redis serve everyone on this machine; what they use during a run is mostly ours.
  const shared = () => ({ postgres: cpuByPid('postgres'), redis: cpuByPid('redis-server') });
  const own = () => Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid) ?? 0]));
  const [ownBefore, sharedBefore, machineBefore] = [own(), shared(), machineCpuSeconds()];
  const selfBefore = process.cpuUsage();
  const result = await runLoad({
    url: `${s.urls[target]}/v1/chat/completions`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.keys[target]}` },
    body: BODIES[mode],
    connections,
    seconds,
  });
  const self = process.cpuUsage(selfBefore);
  const [ownAfter, sharedAfter, machineAfter] = [own(), shared(), machineCpuSeconds()];
  const cores: Record<string, number> = { load_generator: round((self.user + self.system) / 1e6 / result.seconds) };
  for (const k of Object.keys(procs)) cores[k] = round((ownAfter[k] - ownBefore[k]) / result.seconds);
  cores.postgres = round(cpuBetween(sharedBefore.postgres, sharedAfter.postgres) / result.seconds);
  cores.redis = round(cpuBetween(sharedBefore.redis, sharedAfter.redis) / result.seconds);
  // Everything else the machine did meanwhile (other people's work on a shared machine).
  const machine = (machineAfter - machineBefore) / result.seconds;
  cores.everything_else = round(Math.max(0, machine - Object.values(cores).reduce((a, b) => a + b, 0)));
  const served = target === 'direct' ? 'upstream' : target;
  return { ...result, cores, cpuMs: (ownAfter[served] - ownBefore[served]) * 1000 };
}

export function combineMeasured(runs: Measured[]): Measured {
  const all = combine(runs);
  const cores: Record<string, number> = {};
  for (const name of Object.keys(runs[0].cores)) cores[name] = round(runs.reduce((n, r) => n + r.cores[name] * r.seconds, 0) / all.seconds);
  return { ...all, cores, cpuMs: runs.reduce((n, r) => n + r.cpuMs, 0) };
}
