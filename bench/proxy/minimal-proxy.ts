/**
 * The fair baseline for the proxy benchmark: the least a Node reverse proxy can do. One undici
 * Pool to the upstream (keep-alive, the same pool size as the gateway's UpstreamClient), the
 * request body piped up and the answer piped back, hop-by-hop headers dropped. No auth, no
 * parsing, no billing, no logging.
 *
 * Run alone (after a build): `node dist/bench/proxy/minimal-proxy.js --upstream URL [--port N]`
 * prints `{"url"}` on one line and serves until SIGTERM/SIGINT.
 */
import { IncomingHttpHeaders, IncomingMessage, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

// Headers that describe one connection, not the message (RFC 9110 §7.6.1); undici refuses some.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function endToEnd(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in h) {
    const v = h[name];
    if (v !== undefined && !HOP_BY_HOP.has(name)) out[name] = v;
  }
  return out;
}

export async function startMinimalProxy(upstream: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  // As many connections as the gateway's UPSTREAM_MAX_CONNECTIONS default: 2,000 paced streams
  // (streams.ts) must not queue in the pool, which would measure the queue, not the proxy.
  const pool = new Pool(upstream, { connections: 4096, keepAliveTimeout: 30_000 });
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const fail = () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    };
    pool
      .request({
        method: req.method as 'POST',
        path: req.url ?? '/',
        headers: endToEnd(req.headers),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
      })
      .then((up) => {
        res.writeHead(up.statusCode, endToEnd(up.headers));
        pipeline(up.body, res, () => undefined);
      }, fail);
  };
  const server = createServer({ keepAlive: true, noDelay: true }, onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', 4096, () => resolve()); // the gateway's LISTEN_BACKLOG default
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const upstream = arg('upstream');
  if (!upstream) {
    process.stderr.write('usage: minimal-proxy --upstream URL [--port N]\n');
    process.exit(2);
  }
  void startMinimalProxy(upstream, Number(arg('port') ?? 0)).then((p) => {
    process.stdout.write(JSON.stringify({ url: p.url }) + '\n');
    const stop = () => void p.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
