/**
 * Calls to upstream providers over undici pools: one keep-alive pool per origin, made once,
 * with Node streams (no WHATWG fetch/Response on the hot path; see DESIGN.md).
 *
 * A call resolves when the upstream's status and headers arrive; the body is then read by the
 * caller. "Before the first byte" failures (connect error, timeout waiting for headers) reject
 * with an UpstreamFailure, which the router uses to try the next channel.
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Readable } from 'node:stream';
import { Pool, errors } from 'undici';
import { APP_CONFIG, AppConfig } from '../../config/config';

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
  body: Readable;
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
    try {
      const res = await pool.request({
        method: 'POST',
        path: basePath + call.path,
        headers: call.headers,
        body: call.body,
        signal: call.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (err) {
      throw classify(err);
    }
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
  if (err instanceof errors.HeadersTimeoutError || err instanceof errors.ConnectTimeoutError) {
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
