/**
 * freePort (test/support/wait.ts) hands out ports the kernel never gives outgoing connections:
 * a port from the ephemeral range could be taken by one of the tests' own connections between
 * the check and the server's listen (EADDRINUSE in CI, and a half-made gateway left running).
 */
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { freePort } from '../../support/wait';

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('freePort', () => {
  it('gives a port below the ephemeral range that can be listened on', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(1024);
      expect(port).toBeLessThan(low);
      const s = await listen(port);
      await new Promise((r) => s.close(r));
    }
  });

  it('never gives a port that is being listened on', async () => {
    const held: Server[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const port = await freePort();
        held.push(await listen(port)); // would throw EADDRINUSE had it given a held port
      }
      expect(new Set(held.map((s) => (s.address() as { port: number }).port)).size).toBe(30);
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
