/**
 * Loaded into the gateway with `node -r` when the proxy benchmark profiles it (BENCH_PROFILE=1):
 * each SIGUSR2 starts V8's CPU profiler or, when it runs, stops it and writes
 * `<dir>/profile-<pid>-<n>.cpuprofile` (by pid: each layout's gateway is a process of its own),
 * so each load run gets a profile of its own without the start-up or the idle time between runs
 * (which `node --cpu-prof` would include).
 * The directory comes from TOLLGATE_BENCH_PROFILE_DIR; the gateway's config ignores it.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TOLLGATE_BENCH_PROFILE_DIR ?? '.';
const session = new Session();
session.connect();
let running = false;
let n = 0;

process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () => session.post('Profiler.start'));
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, out) => {
    if (err) return void process.stderr.write(`[profiler] ${err.message}\n`);
    writeFileSync(join(dir, `profile-${process.pid}-${++n}.cpuprofile`), JSON.stringify(out.profile));
  });
});
