/**
 * A Postgres cluster of the test's own, for outage tests: initdb'd under /tmp on its own port,
 * really stopped (`pg_ctl -m immediate stop`, as a crash would) and started again on the same
 * data. The machine's shared server (127.0.0.1:5432) is never touched.
 *
 * initdb and pg_ctl refuse to run as root, so when the test runs as root they run as the
 * `postgres` user on a directory that user owns. Without the binaries (or that user),
 * `whyNoPrivatePostgres()` says why, and the test skips with that reason printed.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createPool } from '../../src/platform/database/pg';
import { migrate } from '../../src/platform/database/migrator';
import { FreshDb } from './fresh-db';
import { freePort } from './wait';

export { freePort };

const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/<db> */
  url(db?: string): string;
  /** Kills the server at once (no checkpoint, connections cut), as a crash would. */
  stop(): void;
  /** Starts it again on the same data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its data directory. */
  destroy(): void;
}

function asRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Why a private cluster cannot run here, or undefined when it can. */
export function whyNoPrivatePostgres(): string | undefined {
  for (const tool of ['initdb', 'pg_ctl']) {
    if (!existsSync(join(BIN, tool))) return `no ${tool} in ${BIN} (install postgresql-15, or set TEST_PG_BIN)`;
  }
  if (asRoot()) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root and there is no postgres user to run initdb and pg_ctl as';
    }
  }
  return undefined;
}

function pgTool(tool: string, args: string[]): void {
  const cmd = asRoot() ? 'runuser' : join(BIN, tool);
  const argv = asRoot() ? ['-u', 'postgres', '--', join(BIN, tool), ...args] : args;
  execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}


async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 1000 });
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the private Postgres did not accept connections: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await pool.end().catch(() => undefined);
    }
  }
}

/** initdb + start; the caller must destroy() it (afterAll). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const why = whyNoPrivatePostgres();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
  const data = join(dir, 'data');
  if (asRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
  }
  pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  // Only TCP on 127.0.0.1 (its socket directory is its own), few connections, no fsync: a test cluster.
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=60`;
  let running = false;
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const pg: PrivatePostgres = {
    port,
    url,
    stop() {
      if (!running) return;
      pgTool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    async start() {
      pgTool('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
      running = true;
      await waitUntilReady(url());
    },
    destroy() {
      try {
        pg.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await pg.start();
  return pg;
}

/** A migrated database `tollgate` on the private cluster, shaped like freshDb()'s (for startGateway({ db })). */
export async function privateDb(pg: PrivatePostgres): Promise<FreshDb> {
  const admin = new Pool({ connectionString: pg.url(), max: 1 });
  await admin.query('CREATE DATABASE tollgate');
  await admin.end();
  const pool = createPool(pg.url('tollgate'), 4, 'tollgate-test');
  await migrate(pool);
  return {
    url: pg.url('tollgate'),
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
    },
  };
}
