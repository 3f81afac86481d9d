/**
 * Calls to upstream providers over undici pools: one keep-alive pool per channel, made once,
 * with Node streams (no WHATWG fetch/Response on the hot path; see DESIGN.md).
 *
 * No hidden cap: a channel takes at most its limit of requests in flight at once on this
 * instance (the channel's max_connections, else UPSTREAM_MAX_CONNECTIONS; 0 is none), and its
 * pool has that many connections, so a request is never queued inside the pool out of sight.
 * One past the limit is refused at once with UpstreamFailure('busy'): the router tries another
 * channel, or the client gets 503 with retry-after. A slot is taken as the request goes out and
 * given back exactly once, when the answer's body closes (read to the end, cut, aborted by the
 * client, or destroyed by the silence watch) or the call fails before it.
 *
 * A call resolves when the upstream's status and headers arrive; the body is then read by the
 * caller, who counts each chunk on the response's SilenceWatch (see silence-watch.ts: it, not
 * undici's coarse timers, enforces UPSTREAM_TIMEOUT_MS, and a silent upstream's body is
 * destroyed with an UpstreamSilence). "Before the first byte" failures (connect error, timeout
 * waiting for headers or for the first byte of a 2xx body) reject with an UpstreamFailure, which
 * the router uses to try the next channel.
 *
 * HTTP/2 (a channel's `--http2 on`) is offered by ALPN; what the upstream picks decides how a
 * connection is used. On h2 it carries many requests at once as streams: undici 7 puts one
 * request per connection unless told otherwise (its `pipelining` factor gates h2 too, and it
 * holds a POST back while another request runs), so each connection that negotiated h2 is given
 * H2_STREAMS and the requests are marked replayable-safe (`idempotent`; undici never retries
 * them, this only lets them share the session). A connection that fell back to HTTP/1.1 keeps one
 * request at a time: pipelined, a request would go out once the answer ahead had its headers,
 * and its own answer would wait behind the whole of that one (a stream may last minutes). The
 * first requests of a cold channel each open a connection before any has negotiated, as many as
 * arrive at once.
 *
 * TLS is verified against Node's roots, plus the PEM bundle of UPSTREAM_CA_FILE when set (an
 * upstream behind a private CA, or a test's own); verification is never turned off.
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { rootCertificates, type TLSSocket } from 'node:tls';
import { Client, Dispatcher, Pool, buildConnector, errors } from 'undici';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { SilenceWatch, UpstreamSilence } from './silence-watch';

/** Streams one h2 connection carries at once (undici's own default for maxConcurrentStreams). */
export const H2_STREAMS = 100;

/** What the client needs of a channel: where it is, and how to connect to it. */
export interface UpstreamTarget {
  id: string;
  baseUrl: string; // may carry a path, e.g. https://api.openai.com/v1
  maxConnections: number | null;
  http2: boolean;
}

export interface UpstreamCall {
  channel: UpstreamTarget;
  path: string; // appended to the base URL's path
  headers: Record<string, string>;
  body: Buffer | string;
  signal: CallSignal;
}

/** What says the caller gave up (the client went away): an AbortSignal, or a RequestAbort. */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A proxied request's own abort, the CallSignal of all its upstream tries, and the signal each
 * try gives undici (send() below): an AbortController without the EventTarget. Making an
 * AbortController, and listening on its signal, cost 12-16 µs against 4-6 µs for this
 * (in-process, loaded machine); undici takes any object with addEventListener and
 * removeEventListener as a signal (lib/core/util.js addAbortListener) and reads its `aborted`
 * and `reason`, as it reads an AbortSignal's.
 * Listeners run once, on the first abort; one added after it never runs, one added twice runs
 * once (as with an AbortSignal).
 */
export class RequestAbort implements CallSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] = [];

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.aborted && !this.listeners.includes(listener)) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** undici's body: a Readable that can also be drained unread (`dump`). */
  body: Dispatcher.ResponseData['body'];
  /** The reader of `body` bumps `watch.reads` per chunk (and sets `busy` while the client holds it up). */
  watch: SilenceWatch;
}

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'connect' | 'aborted' | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

/** One channel's connections on this instance: its pool (remade when its settings change) and its requests in flight. */
interface Lane {
  pool: Pool;
  /** What the pool was made for: a channel whose settings differ gets a new one. */
  settings: string;
  basePath: string;
  /** Offers h2: requests may share a connection that negotiated it. */
  h2: boolean;
  limit: number; // Infinity: no limit
  /** Shared by the channel's lanes, old and new, so a request on a replaced pool still counts. */
  slots: { inFlight: number };
}

@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly lanes = new Map<string, Lane>();
  private readonly timeoutMs: number;
  private readonly defaultLimit: number;
  /** TLS options of every upstream connection: the trusted CAs when UPSTREAM_CA_FILE adds some. */
  private readonly tls: { ca?: string[] };

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'UPSTREAM_TIMEOUT_MS' | 'UPSTREAM_MAX_CONNECTIONS' | 'UPSTREAM_CA_FILE'>) {
    this.timeoutMs = config.UPSTREAM_TIMEOUT_MS;
    this.defaultLimit = config.UPSTREAM_MAX_CONNECTIONS;
    // Read once, at start: a missing or unreadable file stops the boot rather than every request.
    this.tls = config.UPSTREAM_CA_FILE ? { ca: [...rootCertificates, readFileSync(config.UPSTREAM_CA_FILE, 'utf8')] } : {};
  }

  /** Whether a request sent to the channel now would be taken (not refused as busy). */
  hasRoom(channel: UpstreamTarget): boolean {
    const lane = this.lanes.get(channel.id);
    return !lane || lane.slots.inFlight < this.limitOf(channel);
  }

  /** Requests in flight on the channel on this instance (for tests and metrics). */
  inFlight(channelId: string): number {
    return this.lanes.get(channelId)?.slots.inFlight ?? 0;
  }

  /** The channel's limit: its own, else the default; Infinity for none. */
  limitOf(channel: Pick<UpstreamTarget, 'maxConnections'>): number {
    const n = channel.maxConnections ?? this.defaultLimit;
    return n === 0 ? Infinity : n;
  }

  async send(call: UpstreamCall): Promise<UpstreamResponse> {
    if (call.signal.aborted) throw new UpstreamFailure('aborted', 'the request was aborted');
    const lane = this.lane(call.channel);
    const slots = lane.slots;
    if (slots.inFlight >= lane.limit) {
      throw new UpstreamFailure('busy', `the channel has ${lane.limit} request(s) in flight, its limit`);
    }
    slots.inFlight++;
    let held = true;
    // One signal for undici: the client's going away, or the upstream's silence. A RequestAbort,
    // not an AbortController: getting an AbortController's signal builds an EventTarget, about 1%
    // of the gateway's CPU per request in its profile (createAbortSignal).
    const own = new RequestAbort();
    const clientGone = () => own.abort(call.signal.reason);
    call.signal.addEventListener('abort', clientGone, { once: true });
    const watch = new SilenceWatch(this.timeoutMs, () => own.abort(new UpstreamSilence(this.timeoutMs)));
    const done = () => {
      watch.stop();
      call.signal.removeEventListener('abort', clientGone);
      if (held) {
        held = false;
        slots.inFlight--;
      }
    };
    try {
      const res = await lane.pool.request({
        method: 'POST',
        path: lane.basePath + call.path,
        headers: call.headers,
        body: call.body,
        signal: own, // undici reads any addEventListener (see RequestAbort)
        // Lets h2 carry it beside others (see the header); on HTTP/1.1 one request per connection regardless.
        idempotent: lane.h2 || undefined,
        // Off: the watch keeps this timeout, on time (undici's own timers fire up to ~1 s late).
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      watch.reads++;
      res.body.once('close', done);
      return { status: res.statusCode, headers: res.headers, body: res.body, watch };
    } catch (err) {
      done();
      throw classify(err);
    }
  }

  /**
   * Waits until the answer's first byte is here (or its end), so that an upstream that sends its
   * headers and then nothing fails over like one that sends nothing: no byte of it has reached
   * the client yet. Costs nothing when the byte came with the headers, as it usually does.
   */
  async firstByte(res: UpstreamResponse): Promise<void> {
    const body = res.body;
    if (body.readableLength > 0 || body.readableEnded) return;
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error | null) => {
          body.off('readable', onReadable);
          body.off('error', settle);
          body.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onReadable = () => settle();
        const onClose = () => settle(body.errored ?? new UpstreamFailure('connect', 'the upstream closed its answer'));
        body.on('readable', onReadable);
        body.once('error', settle);
        body.once('close', onClose);
      });
    } catch (err) {
      throw classify(err);
    }
    res.watch.reads++;
  }

  /**
   * The app closes after its HTTP server, so a request still in flight upstream has nobody to
   * answer: each pool is given a moment to finish, then destroyed (a pool's close alone waits for
   * an answer that may never end, and the app's close with it).
   */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((l) => closeWithin(l.pool, 2_000)));
    this.lanes.clear();
  }

  /**
   * The channel's lane, its pool made on first use. When the channel's URL, limit or HTTP/2
   * changed, a new pool takes over and the old one closes once its requests finish; the count in
   * flight carries over, so the new limit holds from the first request.
   */
  private lane(channel: UpstreamTarget): Lane {
    const limit = this.limitOf(channel);
    const settings = `${channel.baseUrl} ${limit} ${channel.http2}`;
    const lane = this.lanes.get(channel.id);
    if (lane?.settings === settings) return lane;
    const base = new URL(channel.baseUrl);
    const pool = new Pool(base.origin, {
      // As many connections as requests may be in flight, so none waits in the pool's queue.
      connections: limit === Infinity ? null : limit,
      allowH2: channel.http2,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(this.timeoutMs, 10_000),
      connect: this.tls,
      ...(channel.http2 ? { factory: h2Client } : {}),
    });
    const next: Lane = { pool, settings, basePath: base.pathname.replace(/\/$/, ''), h2: channel.http2, limit, slots: lane?.slots ?? { inFlight: 0 } };
    if (lane) void lane.pool.close().catch(() => undefined); // waits for its requests to finish
    this.lanes.set(channel.id, next);
    return next;
  }
}

/**
 * A pool's connection that carries H2_STREAMS requests at once once it has negotiated h2, and one
 * otherwise (see the header). The pool's own connector does the TLS; this only reads its ALPN.
 */
function h2Client(origin: URL | string, opts: object): Dispatcher {
  const options = opts as Client.Options & { connect: buildConnector.connector };
  const connect = options.connect;
  const client: Client = new Client(origin, {
    ...options,
    connect: (o, done) =>
      connect(o, (err, socket) => {
        if (socket) client.pipelining = (socket as TLSSocket).alpnProtocol === 'h2' ? H2_STREAMS : 1;
        (done as (e: Error | null, s: typeof socket) => void)(err, socket);
      }),
  });
  return client;
}

/** Closes the pool (its requests finish first), or destroys it once `ms` have passed. */
async function closeWithin(pool: Pool, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    const closed = pool.close().then(
      () => 'closed' as const,
      () => 'closed' as const,
    );
    if ((await Promise.race([closed, late])) === 'late') await pool.destroy().catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}

function classify(err: unknown): Error {
  if (err instanceof UpstreamFailure) return err;
  if (err instanceof errors.HeadersTimeoutError || err instanceof UpstreamSilence || err instanceof errors.ConnectTimeoutError) {
    return new UpstreamFailure('timeout', 'the upstream did not answer in time');
  }
  if (err instanceof errors.RequestAbortedError || (err as Error)?.name === 'AbortError') {
    return new UpstreamFailure('aborted', 'the request was aborted');
  }
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED)$/.test(code) || err instanceof errors.SocketError) {
    return new UpstreamFailure('connect', `could not reach the upstream (${code || 'socket error'})`);
  }
  return err as Error;
}
