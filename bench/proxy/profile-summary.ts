/**
 * Where a V8 .cpuprofile spent its time, three ways: functions by self time; our own functions
 * (src/, projections/) with everything they call that is not ours (libraries, Node, natives, as
 * the nearest frame of ours up the stack); and by file or package. Locations in dist/ are
 * mapped back to the TypeScript through the build's source maps. Used by the proxy benchmark
 * when it profiles the gateway; run alone:
 * `node dist/bench/proxy/profile-summary.js FILE.cpuprofile… [--top N]`.
 *
 * The profiler samples wall time on the JS thread, so a syscall that waits for a CPU (on a busy
 * machine, writes to a socket) counts as time in it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, SourceMapPayload } from 'node:module';
import { dirname, join, relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  self_ms: number;
  pct: number; // of busy (not idle) time
  fn: string;
  at: string; // file:line (1-based), relative to the working directory
}

export interface ProfileSummary {
  total_ms: number;
  busy_ms: number;
  functions: HotSpot[];
  ours: HotSpot[];
  files: HotSpot[];
}

const maps = new Map<string, SourceMap | null>();

/** file:line of a frame, in the TypeScript source when the build's source map knows it. */
function locate(f: CallFrame): { file: string; line: number } {
  if (!f.url) return { file: '', line: 0 };
  const path = f.url.replace(/^file:\/\//, '');
  let map = maps.get(path);
  if (map === undefined) {
    map = null;
    const mapFile = `${path}.map`;
    if (!path.includes('/node_modules/') && existsSync(mapFile)) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload);
      } catch {
        map = null;
      }
    }
    maps.set(path, map);
  }
  const entry = map?.findEntry(f.lineNumber, f.columnNumber);
  if (entry && 'originalSource' in entry && entry.originalSource) {
    const source = entry.originalSource.replace(/^file:\/\//, '');
    return { file: relative(process.cwd(), source.startsWith('/') ? source : join(dirname(path), source)), line: (entry.originalLine ?? 0) + 1 };
  }
  return { file: path.startsWith('/') ? relative(process.cwd(), path) : path, line: f.lineNumber + 1 };
}

// (dist-*: a second build beside dist, of the commit a change is measured against)
const isOurs = (f: CallFrame) => /\/dist(-[^/]+)?\/(src|projections)\//.test(f.url);

/** The package (or node: module, or native) a frame belongs to. */
function packageOf(f: CallFrame, file: string): string {
  if (!f.url) return f.functionName || '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (m) return m[1];
  return file;
}

/** Self time per function, per function of ours (with what it calls), and per file or package. */
export function summarize(paths: string[], top = 25): ProfileSummary {
  const fns = new Map<string, HotSpot>();
  const ours = new Map<string, HotSpot>();
  const files = new Map<string, HotSpot>();
  let total = 0;
  let idle = 0;
  const add = (m: Map<string, HotSpot>, key: string, fn: string, at: string, us: number) => {
    const h = m.get(key) ?? { self_ms: 0, pct: 0, fn, at };
    h.self_ms += us / 1000;
    m.set(key, h);
  };
  for (const path of paths) {
    const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map<number, number>();
    // timeDeltas[i] is the time before sample i; the time of a sample is the delta that follows it.
    for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
    for (const [id, us] of self) {
      const f = byId.get(id)!.callFrame;
      total += us;
      if (f.functionName === '(idle)') {
        idle += us;
        continue;
      }
      const { file, line } = locate(f);
      const at = file ? `${file}:${line}` : '';
      add(fns, `${f.functionName}|${at}`, f.functionName || '(anonymous)', at, us);
      add(files, packageOf(f, file), '', packageOf(f, file), us);
      // The nearest frame of ours, from the leaf up: what our code costs with what it calls.
      let cur: number | undefined = id;
      while (cur !== undefined && !isOurs(byId.get(cur)!.callFrame)) cur = parent.get(cur);
      if (cur === undefined) add(ours, '(not under our code)', '(not under our code: Node, libraries, GC)', '', us);
      else {
        const o = byId.get(cur)!.callFrame;
        const l = locate(o);
        add(ours, `${o.functionName}|${l.file}:${l.line}`, o.functionName || '(anonymous)', `${l.file}:${l.line}`, us);
      }
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, HotSpot>) =>
    [...m.values()]
      .sort((a, b) => b.self_ms - a.self_ms)
      .slice(0, top)
      .map((h) => ({ ...h, self_ms: Math.round(h.self_ms), pct: busy > 0 ? Math.round((h.self_ms * 1000 * 1000) / busy) / 10 : 0 }));
  return { total_ms: Math.round(total / 1000), busy_ms: Math.round(busy / 1000), functions: rank(fns), ours: rank(ours), files: rank(files) };
}

export function formatSummary(s: ProfileSummary): string {
  const row = (h: HotSpot) => `  ${String(h.pct).padStart(5)}%  ${h.fn ? `${h.fn}  ` : ''}${h.at}`;
  return [
    `busy ${s.busy_ms} ms of ${s.total_ms} ms sampled; shares are of busy time`,
    'self time, by function:',
    ...s.functions.map(row),
    'our functions, with the library, Node and native calls under them:',
    ...s.ours.map(row),
    'self time, by file or package:',
    ...s.files.map(row),
  ].join('\n');
}

if (require.main === module) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
  if (files.length === 0) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile… [--top N]\n');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  process.stdout.write(formatSummary(summarize(files, i > 0 ? Number(process.argv[i + 1]) : 25)) + '\n');
}
