/**
 * request.ip as the gateway's server options make it (issue 16, item 6): the socket's address,
 * unless the socket is a TRUST_PROXY peer, whose X-Forwarded-For then names the client. Per-address
 * limits (failed authentications) key on request.ip, so a client that is not behind a listed proxy
 * must not be able to choose its address with a header. A real Fastify on a real socket.
 */
import Fastify, { FastifyInstance } from 'fastify';
import { loadConfig } from '../../../src/config/config';
import { httpServerOptions } from '../../../src/platform/http/http-server-options';

async function ipServer(trustProxy: string): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify(httpServerOptions(loadConfig({ TRUST_PROXY: trustProxy })));
  app.get('/ip', async (request) => ({ ip: request.ip }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

async function ipSeen(url: string, forwardedFor?: string): Promise<string> {
  const res = await fetch(`${url}/ip`, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });
  return ((await res.json()) as { ip: string }).ip;
}

describe('receiving bounds', () => {
  it('by default, a stalled request is answered and closed within 30 s (timeout plus the check interval)', () => {
    const { http, requestTimeout } = httpServerOptions(loadConfig({})) as { http: Record<string, number>; requestTimeout: number };
    expect(requestTimeout).toBe(http.requestTimeout);
    expect(http.headersTimeout).toBeLessThanOrEqual(http.requestTimeout);
    expect(http.requestTimeout + http.connectionsCheckingInterval).toBeLessThanOrEqual(30_000);
  });
});

describe('request.ip', () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });
  const start = async (trust: string) => {
    const s = await ipServer(trust);
    apps.push(s.app);
    return s.url;
  };

  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', async () => {
    const url = await start('');
    expect(await ipSeen(url)).toBe('127.0.0.1');
    expect(await ipSeen(url, '203.0.113.7')).toBe('127.0.0.1');
  });

  it('is the socket address when the peer is not a listed proxy', async () => {
    const url = await start('10.0.0.0/8, 192.168.0.1');
    expect(await ipSeen(url, '203.0.113.7')).toBe('127.0.0.1');
  });

  it('is the forwarded address when the peer is a listed proxy (address or CIDR)', async () => {
    expect(await ipSeen(await start('127.0.0.1'), '203.0.113.7')).toBe('203.0.113.7');
    expect(await ipSeen(await start('127.0.0.0/8'), '203.0.113.7')).toBe('203.0.113.7');
  });

  it('stops at the first hop that is not a listed proxy: an address the client wrote itself is ignored', async () => {
    // The client sent "X-Forwarded-For: 198.51.100.1" to a load balancer at 10.1.2.3, which appended its peer.
    expect(await ipSeen(await start('127.0.0.1'), '198.51.100.1, 10.1.2.3')).toBe('10.1.2.3');
    expect(await ipSeen(await start('127.0.0.1,10.0.0.0/8'), '198.51.100.1, 10.1.2.3')).toBe('198.51.100.1');
  });
});
