/**
 * Calls to upstream providers over undici pools: one keep-alive pool per origin, made once,
 * with Node streams (no WHATWG fetch/Response on the hot path; see DESIGN.md).
 *
 * A call resolves when the upstream's status and headers arrive; the body is then read by the
 * caller, who counts each chunk on the response's SilenceWatch (see silence-watch.ts: it, not
 * undici's coarse timers, enforces UPSTREAM_TIMEOUT_MS, and a silent upstream's body is
 * destroyed with an UpstreamSilence). "Before the first byte" failures (connect error, timeout
 * waiting for headers or for the first byte of a 2xx body) reject with an UpstreamFailure, which
 * the router uses to try the next channel.
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Dispatcher, Pool, errors } from 'undici';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { SilenceWatch, UpstreamSilence } from './silence-watch';

export interface UpstreamCall {
  baseUrl: string; // the channel's base URL (may carry a path, e.g. https://api.openai.com/v1)
  path: string; // appended to the base URL's path
  headers: Record<string, string>;
  body: Buffer | string;
  signal: AbortSignal;
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
    readonly kind: 'timeout' | 'connect' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

@Injectable()
export class UpstreamClient implements OnModuleDestroy {
  private readonly pools = new Map<string, Pool>();
  private readonly timeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.timeoutMs = config.UPSTREAM_TIMEOUT_MS;
  }

  async send(call: UpstreamCall): Promise<UpstreamResponse> {
    const base = new URL(call.baseUrl);
    const pool = this.pool(base.origin);
    const basePath = base.pathname.replace(/\/$/, '');
    if (call.signal.aborted) throw new UpstreamFailure('aborted', 'the request was aborted');
    // One signal for undici: the client's going away, or the upstream's silence.
    const own = new AbortController();
    const clientGone = () => own.abort(call.signal.reason);
    call.signal.addEventListener('abort', clientGone, { once: true });
    const watch = new SilenceWatch(this.timeoutMs, () => own.abort(new UpstreamSilence(this.timeoutMs)));
    const done = () => {
      watch.stop();
      call.signal.removeEventListener('abort', clientGone);
    };
    try {
      const res = await pool.request({
        method: 'POST',
        path: basePath + call.path,
        headers: call.headers,
        body: call.body,
        signal: own.signal,
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

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 256, keepAliveTimeout: 30_000, connectTimeout: Math.min(this.timeoutMs, 10_000) });
      this.pools.set(origin, pool);
    }
    return pool;
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
