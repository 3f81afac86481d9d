/**
 * The proxy's POST endpoints answered straight from Node's `request` event, ahead of the
 * framework (issue 23: one lean route). Under Fastify and Nest every request runs five global
 * onRequest hooks (Nest's middleware and routing checks, cookies, the dashboard's pages), an
 * onResponse hook, and a content-type parser that binds an AsyncResource per body (Node 20
 * builds a deprecation wrapper each time: 2-3% of the gateway's CPU alone). None of it does
 * anything for a proxied request, which hijacks its reply and writes the raw response itself.
 *
 * What is taken here is the plain case only, decided from the method and the URL's bytes: a
 * POST to one of the served paths, exactly as the router would match it, with no `%` anywhere
 * in the URL and a Gemini model segment of the router's length. Everything else (and every
 * request while the app is closing, which Fastify answers 503) goes on to Fastify, whose
 * routes for the same paths stay registered and answer the same way, so an odd request
 * never depends on this file's reading of the URL. The client's address is read by the caller
 * exactly as Fastify reads request.ip, TRUST_PROXY included (platform/http/client-address.ts).
 *
 * The body is read here as Fastify reads it: at most the limit (413 as soon as the declared or
 * received length passes it), the received length must equal Content-Length (else 400), and
 * an error answer closes the connection (the rest of the body is not read).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

/** The router's longest parameter (find-my-way's maxParamLength default): longer goes to Fastify. */
const MAX_PARAM_LENGTH = 100;
const GEMINI_PREFIX = '/v1beta/models/';

export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}

export class BodyUnreadable extends Error {
  override name = 'BodyUnreadable';
}

/** A request the front door took: what the proxy's handler needs, without a framework's objects. */
export interface FrontDoorRequest<K extends string> {
  kind: K;
  /** The Gemini route's `{model}:{action}` segment; null on the other routes. */
  modelAction: string | null;
  raw: IncomingMessage;
  res: ServerResponse;
  query: Record<string, unknown>;
}

export interface FrontDoorOptions<K extends string> {
  /** The static POST paths and their kinds. */
  paths: ReadonlyMap<string, K>;
  /** The kind of the `/v1beta/models/:modelAction` route. */
  geminiKind: K;
  /** Whether requests go to Fastify instead (the app is closing). */
  passThrough: () => boolean;
  handle: (req: FrontDoorRequest<K>) => Promise<void>;
  /** Counts the handler as a request under way (the shutdown waits for it, as for Fastify's routes). */
  track: <T>(work: Promise<T>) => Promise<T>;
}

/** Puts the front door before the server's own `request` listeners (Fastify's). */
export function installFrontDoor<K extends string>(server: Server, opts: FrontDoorOptions<K>): void {
  const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const taken = req.method === 'POST' && !opts.passThrough() ? route(req.url ?? '', opts) : null;
    if (!taken) {
      for (const l of others) l.call(server, req, res);
      return;
    }
    // The handler answers its own errors; should it still throw, the connection ends rather
    // than the process (an unhandled rejection), as Fastify would have ended a hijacked reply.
    void opts.track(opts.handle({ ...taken, raw: req, res }).catch(() => res.destroy()));
  };
  server.removeAllListeners('request');
  server.on('request', onRequest);
}

function route<K extends string>(url: string, opts: FrontDoorOptions<K>): { kind: K; modelAction: string | null; query: Record<string, unknown> } | null {
  if (url.includes('%')) return null;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? {} : (parseQuery(url.slice(q + 1)) as Record<string, unknown>);
  const kind = opts.paths.get(path);
  if (kind !== undefined) return { kind, modelAction: null, query };
  if (!path.startsWith(GEMINI_PREFIX)) return null;
  const segment = path.slice(GEMINI_PREFIX.length);
  if (segment === '' || segment.length > MAX_PARAM_LENGTH || segment.includes('/')) return null;
  return { kind: opts.geminiKind, modelAction: segment, query };
}

/**
 * The whole body, at most `limit` bytes: BodyTooLarge when the declared or received length
 * passes it, BodyUnreadable when the stream fails or ends short of (or past) Content-Length.
 * Fastify's rules (lib/content-type-parser.js rawBody), so both doors answer alike.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(new BodyTooLarge());
    const parts: Buffer[] = [];
    let received = 0;
    const stop = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onEnd);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        stop();
        return reject(new BodyTooLarge());
      }
      parts.push(chunk);
    };
    const onEnd = (err?: Error) => {
      stop();
      if (err) return reject(new BodyUnreadable(err.message));
      if (!Number.isNaN(declared) && received !== declared) return reject(new BodyUnreadable('the body is not as long as its Content-Length'));
      resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
  });
}
