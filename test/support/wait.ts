/** Small waits the end-to-end tests share. */
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

/** A TCP port free on 127.0.0.1 right now (for a process a test starts itself). */
export function freePort(): Promise<number> {
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
