/**
 * The proxy's front door reads the client's address itself (platform/http/client-address.ts),
 * and must read it exactly as Fastify's request.ip does, for every TRUST_PROXY setting: per-address
 * limits key on it, so a client must get neither a second budget nor an address of its choosing
 * by the door it comes through. A property over generated settings (none, true, hop counts,
 * lists of addresses, CIDRs and named ranges), peers (several loopback addresses) and
 * X-Forwarded-For chains (spoofed, partly trusted, malformed, repeated headers), each request
 * read both ways on a real Fastify from a real socket.
 */
import proxyAddr from '@fastify/proxy-addr';
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import Fastify, { FastifyInstance } from 'fastify';
import { request as httpRequest } from 'node:http';
import { loadConfig } from '../../../src/config/config';
import { clientAddressReader } from '../../../src/platform/http/client-address';
import { httpServerOptions } from '../../../src/platform/http/http-server-options';

/** Both readings of one request: Fastify's request.ip and the front door's. */
async function server(trustProxy: string): Promise<{ app: FastifyInstance; port: number }> {
  const config = loadConfig({ TRUST_PROXY: trustProxy });
  const reader = clientAddressReader(config.TRUST_PROXY);
  const app = Fastify(httpServerOptions(config));
  app.get('/ip', async (request) => ({ fastify: request.ip, door: reader(request.raw) }));
  await app.listen({ port: 0, host: '0.0.0.0' });
  return { app, port: (app.server.address() as { port: number }).port };
}

function ask(port: number, from: string, forwardedFor: string[] | undefined): Promise<{ fastify: string; door: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    // Several header lines arrive joined with ", " (Node's rule for x-forwarded-for), as a proxy chain may send them.
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor.length === 1 ? forwardedFor[0] : forwardedFor;
    const req = httpRequest({ host: '127.0.0.1', port, path: '/ip', localAddress: from, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end();
  });
}

// Peers: every 127/8 address is this machine's (Linux), so a test can come from several.
const PEERS = ['127.0.0.1', '127.0.0.5', '127.9.8.7'];
const LISTED = ['127.0.0.1', '127.0.0.5', '127.0.0.0/8', '10.0.0.0/8', '10.1.2.3', '192.168.0.0/16', '203.0.113.0/24', '::1', 'fd00::/8', 'loopback', 'uniquelocal', 'linklocal'];
const FORWARDED = ['203.0.113.7', '198.51.100.1', '10.1.2.3', '10.200.0.1', '192.168.1.1', '127.0.0.1', '127.0.0.5', '169.254.1.1', '2001:db8::1', 'fd00::1', 'not-an-ip', ''];

const setting = fc.oneof(
  fc.constant('true'),
  fc.constant('false'),
  fc.integer({ min: 1, max: 5 }).map(String),
  fc.uniqueArray(fc.constantFrom(...LISTED), { minLength: 1, maxLength: 4 }).chain((list) => fc.constantFrom(list.join(','), list.join(', '), ` ${list.join(' ,')} `)),
);
const chain = fc.array(fc.constantFrom(...FORWARDED), { minLength: 0, maxLength: 6 }).chain((hops) =>
  fc.constantFrom(
    hops.length ? [hops.join(', ')] : undefined, // one header
    hops.length ? [hops.join(',')] : undefined, // no spaces
    hops.length > 1 ? [hops.slice(0, 1).join(', '), hops.slice(1).join(', ')] : undefined, // two header lines
  ),
);

describe('the front door reads the client address as Fastify does', () => {
  it('for every trust setting, peer and X-Forwarded-For chain', async () => {
    await fc.assert(
      fc.asyncProperty(setting, fc.array(fc.tuple(fc.constantFrom(...PEERS), chain), { minLength: 1, maxLength: 6 }), async (trust, requests) => {
        const { app, port } = await server(trust);
        try {
          for (const [from, forwardedFor] of requests) {
            const seen = await ask(port, from, forwardedFor);
            expect(seen.door).toBe(seen.fastify);
          }
        } finally {
          await app.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('examples: a spoofed header from an untrusted peer is ignored; trusted hops are walked, by list, count or true', async () => {
    const cases: Array<[trust: string, from: string, xff: string, expected: string]> = [
      ['', '127.0.0.5', '203.0.113.7', '127.0.0.5'], // nobody trusted
      ['10.0.0.0/8', '127.0.0.5', '203.0.113.7', '127.0.0.5'], // the peer is not a listed proxy
      ['127.0.0.5', '127.0.0.1', '203.0.113.7', '127.0.0.1'], // another loopback address is not the listed one
      ['127.0.0.5', '127.0.0.5', '198.51.100.1, 10.1.2.3', '10.1.2.3'], // stops at the first untrusted hop
      ['127.0.0.5,10.0.0.0/8', '127.0.0.5', '198.51.100.1, 10.1.2.3', '198.51.100.1'],
      ['loopback', '127.9.8.7', '198.51.100.1, 203.0.113.7', '203.0.113.7'],
      ['1', '127.0.0.5', '198.51.100.1, 203.0.113.7', '203.0.113.7'], // one hop: the load balancer's own peer
      ['2', '127.0.0.5', '198.51.100.1, 203.0.113.7', '198.51.100.1'],
      ['true', '127.0.0.5', '198.51.100.1, 203.0.113.7', '198.51.100.1'], // every hop: the leftmost
    ];
    for (const [trust, from, xff, expected] of cases) {
      const { app, port } = await server(trust);
      try {
        expect({ trust, xff, ...(await ask(port, from, [xff])) }).toEqual({ trust, xff, fastify: expected, door: expected });
      } finally {
        await app.close();
      }
    }
  });

  it('past its memory of addresses (a flood of new ones) a list still answers as proxy-addr does', () => {
    const list = ['10.0.0.0/8', '127.0.0.1'];
    const read = clientAddressReader(list);
    const compiled = proxyAddr.compile(list);
    for (let i = 0; i < 25_000; i++) {
      const hop = i % 3 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `203.0.${(i >> 8) & 255}.${i & 255}`;
      const req = { socket: { remoteAddress: '127.0.0.1' }, headers: { 'x-forwarded-for': `198.51.100.${i & 255}, ${hop}` } } as unknown as IncomingMessage;
      const expected = proxyAddr(req, compiled);
      if (read(req) !== expected) throw new Error(`request ${i}: ${read(req)} where proxy-addr says ${expected}`);
    }
  });
});
