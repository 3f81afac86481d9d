/**
 * A redis-server of the test's own, on a free port, as a child process the test owns: it can be
 * stopped (an outage) and started again on the same port, empty (no persistence: what a
 * restart without AOF/RDB, or a failover to an empty replica, looks like). The machine's shared
 * Redis is never touched.
 *
 * Without a redis-server binary, `whyNoRedisServer()` says why, so a suite can skip with a
 * printed reason (the pattern of test/integration/event-store).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './wait';

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** True while the server runs. */
  readonly running: boolean;
  /**
   * Kills the server (SIGKILL: nothing saved, connections cut) and waits until it has exited.
   * With keepData, it is shut down saving its data first, and the next start loads it (a
   * restart of a Redis with persistence).
   */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts it again on the same port, empty (unless the last stop kept its data); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered. */
  pause(): void;
  /** Thaws it (SIGCONT): it answers what it was sent meanwhile. */
  resume(): void;
  /** Stops it for good (afterAll). */
  close(): Promise<void>;
}

/** Why no private Redis can be started here, or undefined when it can. */
export function whyNoRedisServer(): string | undefined {
  try {
    execFileSync(BINARY, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return undefined;
  } catch (err) {
    return `no runnable ${BINARY} (${(err as Error).message.split('\n')[0]}); install redis-server (apt) or set REDIS_SERVER_BIN`;
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-'));
  const dump = join(dir, 'dump.rdb');
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    const proc = spawn(BINARY, [...args, '--dir', dir, '--dbfilename', 'dump.rdb'], {
      stdio: 'ignore',
    });
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await untilAccepting(port, proc);
  };

  const stop = async (opts: { keepData?: boolean } = {}): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise((r) => proc.once('exit', r));
    rmSync(dump, { force: true }); // only a stop that keeps data leaves one for the next start
    if (opts.keepData) {
      proc.kill('SIGCONT'); // a paused server cannot save
      await command(port, 'SHUTDOWN SAVE');
    } else {
      proc.kill('SIGKILL');
    }
    await exited;
    child = null;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    start,
    stop,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function untilAccepting(port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${proc.exitCode}`);
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start within 10 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends one inline command over a raw socket; resolves when the server answers or closes. */
function command(port: number, line: string): Promise<void> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = () => {
      s.destroy();
      resolve();
    };
    s.setTimeout(5_000, done);
    s.once('error', done);
    s.once('close', done);
    s.once('data', done);
    s.connect(port, '127.0.0.1', () => s.write(`${line}\r\n`));
  });
}

/** One PING over a raw socket: no client library's reconnect logic between the test and the truth. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => done(String(d).startsWith('+PONG')));
  });
}

