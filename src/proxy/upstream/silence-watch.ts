/**
 * UPSTREAM_TIMEOUT_MS, kept on time: an upstream that sends nothing for that long (no headers,
 * or no next chunk of its answer) is given up on.
 *
 * Why not undici's headersTimeout/bodyTimeout: they run on undici's coarse "fast timers"
 * (a tick every ~500 ms, a timer armed only at the tick after it was set), so they fire up to
 * a second late, and a 100 ms timeout took 0.5–1 s. Why not a native timer refreshed per
 * chunk: that is a call into libuv on every chunk of every stream. Here the reader of the
 * answer only counts chunks (`reads++`, a field write), and one native timer per request looks
 * every tenth of the timeout: the silence it measures starts no earlier than the last chunk,
 * so it never fires early, and at most a tenth of the timeout late.
 *
 * While the reader waits on the client (`busy`: its socket is full), the upstream is not the
 * one keeping quiet, so that time never counts (as undici pauses its body timeout then). Nor
 * does a look that comes late because the event loop was blocked: what arrived meanwhile has
 * not been read yet, so the watch looks once more after the loop has read its sockets.
 */
export class SilenceWatch {
  /** Chunks read from the upstream so far (the reader bumps it; the headers count as one). */
  reads = 0;
  /** True while the reader is blocked on the client, not on the upstream. */
  busy = false;
  private seen = 0;
  private quietSince = performance.now();
  private lastLook = this.quietSince;
  private readonly every: number;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onSilence: () => void,
  ) {
    // A multiple of the timeout, so a silence from the start is caught at exactly the timeout.
    this.every = Math.max(1, timeoutMs / 10);
    this.timer = setTimeout(() => this.check(), this.every);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private check(): void {
    if (this.stopped) return;
    const now = performance.now();
    const late = now - this.lastLook > this.every * 2 + 20;
    this.lastLook = now;
    if (this.reads !== this.seen || this.busy) {
      this.seen = this.reads;
      this.quietSince = now;
    } else if (!late && now - this.quietSince >= this.timeoutMs - 1) {
      // (1 ms of leeway: timers are rounded to whole milliseconds, and may fire a hair early)
      this.stop();
      this.onSilence();
      return;
    }
    this.timer.refresh();
  }
}

/** What a request is given up with when its upstream has gone silent. */
export class UpstreamSilence extends Error {
  readonly code = 'UPSTREAM_SILENT';

  constructor(readonly timeoutMs: number) {
    super(`the upstream sent nothing for ${timeoutMs} ms`);
    this.name = 'UpstreamSilence';
  }
}
