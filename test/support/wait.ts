/** Small waits the end-to-end tests share. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `work`, or a failure naming `what` after `timeoutMs` (well inside jest's own limit, so a hang
 * says which step hung); `diagnose` adds what was going on then (say, the database's waiting queries).
 */
export async function within<T>(work: Promise<T>, timeoutMs: number, what: string, diagnose?: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const said = diagnose ? diagnose().catch((err: Error) => `(diagnosis failed: ${err.message})`) : Promise.resolve('');
      void said.then((extra) => reject(new Error(`${what} did not finish within ${timeoutMs} ms${extra ? `; ${extra}` : ''}`)));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The kernel's ephemeral range (the ports it gives outgoing connections); Linux's default when
 * it cannot be read.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: the default below
  }
  return [32768, 60999];
}

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/**
 * A TCP port free on 127.0.0.1 right now (for a server a test starts itself, on a port it must
 * know first). Taken below the ephemeral range: a port the kernel picked (listen on 0) is one it
 * also gives outgoing connections, and between this check and the server's listen one of the
 * many connections the tests open could take it (EADDRINUSE, seen in CI). Below the range only
 * another test picking the same random port at the same moment can; callers that can start
 * again on another port do so (startGateway).
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const from = Math.min(20_000, Math.max(1024, low - 2_000));
  if (low - from >= 100) {
    for (let i = 0; i < 50; i++) {
      const port = from + Math.floor(Math.random() * (low - from));
      if (await bindable(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Until an API process on this port answers /health with 200 (it started, and reached Postgres). */
export function untilHealthy(port: number, timeoutMs = 30_000): Promise<void> {
  return waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true, timeoutMs, `the API on port ${port}`);
}
