/**
 * The servers under test, each in a process of its own so none shares an event loop with the
 * load generator: started, awaited until they say where they listen, sampled for memory, stopped.
 * Their output goes to a log file (a pipe nobody reads would stall them once full).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
}

/**
 * Starts `node args…` and resolves once `ready(line)` accepts a line of its stdout (or stderr),
 * returning what it returned. Rejects if the process exits first or takes longer than `timeoutMs`.
 */
export function startChild<T>(
  name: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; logFile: string; ready: (line: string) => T | undefined; timeoutMs?: number },
): Promise<{ child: Child; ready: T }> {
  const log = openSync(opts.logFile, 'a');
  const proc = spawn(process.execPath, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const child: Child = { name, proc, pid: proc.pid!, logFile: opts.logFile };
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  proc.once('exit', () => out.end());
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name} did not start within ${opts.timeoutMs ?? 30_000} ms; see ${opts.logFile}`)), opts.timeoutMs ?? 30_000);
    const finish = (err: Error | null, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        proc.kill('SIGKILL');
        reject(err);
      } else resolve({ child, ready: value as T });
    };
    proc.once('exit', (code, signal) => finish(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${tail(opts.logFile)}`)));
    // Every stdout line goes on to the log, so the pipe never fills.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      out.write(line + '\n');
      if (done) return;
      let value: T | undefined;
      try {
        value = opts.ready(line);
      } catch {
        value = undefined;
      }
      if (value !== undefined) finish(null, value);
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The process's peak resident set so far (VmHWM), in MiB; null where /proc is not there. */
export function peakRssMiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The process's resident set now (VmRSS), in MiB; null where /proc is not there (or it has exited). */
export function rssMiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Total CPU time (user + system) the process has used, in seconds; null where /proc is not there. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return null;
  }
}

/** CPU seconds used so far by each process whose name is `comm` (e.g. Postgres's backends), by pid. */
export function cpuByPid(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue; // gone meanwhile
    }
    const s = cpuSeconds(Number(entry));
    if (s !== null) out.set(Number(entry), s);
  }
  return out;
}

/** CPU seconds used between two samples by the processes still there at the second (new ones wholly). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

/** CPU seconds the whole machine has been busy (every CPU, all but idle and iowait), from /proc/stat. */
export function machineCpuSeconds(): number {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const t = ticks.map(Number); // user nice system idle iowait irq softirq steal guest guest_nice
    return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) / 100;
  } catch {
    return 0;
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
