/**
 * The client's address as Fastify's request.ip reads it, for a request Fastify never sees (the
 * proxy's front door, src/proxy/http/proxy-front-door.ts): the socket's address, or with
 * TRUST_PROXY the nearest X-Forwarded-For address that is not a trusted proxy. Both doors must
 * agree, since per-address limits (failed authentications) key on it: a client must not get a
 * second budget, or choose its address with a header, by using one door rather than the other.
 *
 * Same package (@fastify/proxy-addr, the copy Fastify uses), same trust function built from the
 * same setting as Fastify's lib/request.js getTrustProxyFn; test/unit/platform/client-address.spec.ts
 * compares the two over generated settings and header chains.
 */
import proxyAddr from '@fastify/proxy-addr';
import type { IncomingMessage } from 'node:http';
import type { TrustProxy } from '../../config/config';

export type ClientAddress = (req: IncomingMessage) => string;

/** Made once at start: the per-request work is proxy-addr's walk of the header, nothing else. */
export function clientAddressReader(trust: TrustProxy): ClientAddress {
  if (trust === false) return (req) => req.socket.remoteAddress ?? '';
  const trusted = trustFunction(trust);
  return (req) => proxyAddr(req, trusted) ?? '';
}

function trustFunction(trust: true | number | string[]): (addr: string, hop: number) => boolean {
  if (trust === true) return () => true;
  if (typeof trust === 'number') return (_addr, hop) => hop < trust;
  const compiled = proxyAddr.compile(trust); // its functions read the address only, never the hop
  return remembered((addr) => compiled(addr, 0));
}

/** Addresses whose answer is kept; past it, the memory starts again (a flood of new addresses costs what no memory would). */
const REMEMBERED = 10_000;

/**
 * A list's verdict on an address depends on the address alone, and proxy-addr's costs ~7 µs a
 * request (it parses every address it is asked about), while the load balancers and most clients
 * come back again and again: each answer is kept, so a request usually costs a map lookup or two.
 */
function remembered(trusted: (addr: string) => boolean): (addr: string) => boolean {
  const known = new Map<string, boolean>();
  return (addr) => {
    let verdict = known.get(addr);
    if (verdict === undefined) {
      verdict = trusted(addr);
      if (known.size >= REMEMBERED) known.clear();
      known.set(addr, verdict);
    }
    return verdict;
  };
}
