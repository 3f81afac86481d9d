/**
 * A Postgres that accepts connections and never answers (frozen, or packets dropped on the
 * way): getting a connection gives up after DATABASE_CONNECT_TIMEOUT_MS with an error the
 * proxy answers as 503 `unavailable`, instead of holding the request forever.
 */
import { Server, Socket, createServer } from 'node:net';
import { createPool } from '../../../src/platform/database/pg';
import { isPgUnavailable } from '../../../src/platform/database/pg-unavailable';
import { loadConfig } from '../../../src/config/config';

describe('a Postgres that never answers', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let url: string;
  beforeAll(async () => {
    server = createServer((s) => sockets.push(s)); // accepts, reads, never writes
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `postgres://postgres@127.0.0.1:${(server.address() as { port: number }).port}/tollgate`;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });

  it('costs a query the connect timeout, then an error counted as "Postgres unavailable"', async () => {
    const pool = createPool(url, 2, 'tollgate-test', 300);
    const started = Date.now();
    const err = await pool.query('SELECT 1').catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(Error);
    expect(isPgUnavailable(err)).toBe(true);
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    await pool.end().catch(() => undefined);
  });

  it('is what the processes get: DATABASE_CONNECT_TIMEOUT_MS bounds it, 5 s unless set', () => {
    expect(loadConfig({}).DATABASE_CONNECT_TIMEOUT_MS).toBe(5_000);
    expect(loadConfig({ DATABASE_CONNECT_TIMEOUT_MS: '250' }).DATABASE_CONNECT_TIMEOUT_MS).toBe(250);
    expect(() => loadConfig({ DATABASE_CONNECT_TIMEOUT_MS: '0' })).toThrow(/DATABASE_CONNECT_TIMEOUT_MS/);
  });
});
