/**
 * Relays an upstream answer to the client while reading its usage, without holding more than
 * it must: SSE is passed on chunk by chunk (with backpressure), and only a JSON answer, which
 * the client gets whole anyway, is collected before it is sent.
 *
 * Nothing read here is kept beyond the request, written anywhere, or logged.
 */
import { once } from 'node:events';
import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { SseEvent, SseParser, formatSse } from './streaming/sse';
import { SilenceWatch } from './upstream/silence-watch';

export interface RelayProgress {
  /** When the first byte reached the client (performance.now()), or null if none did. */
  firstByteAt: number | null;
  /** True once the client got everything (the answer ended normally). */
  completed: boolean;
  /** True when the client went away before the end. */
  clientGone: boolean;
  /** True when the upstream broke off mid-answer. */
  upstreamCut: boolean;
  /** Why it broke off (what reading its answer threw), when it did. */
  cutBy?: unknown;
}

export const newProgress = (): RelayProgress => ({ firstByteAt: null, completed: false, clientGone: false, upstreamCut: false });

/** An upstream's answer as the relay reads it: the body, and the watch that counts its chunks. */
export interface UpstreamBody {
  body: Readable;
  watch: SilenceWatch;
}

/** The last words to a client whose stream the upstream broke off: an error event in its format. */
export type CutEvent = (err: unknown) => string;

export type Headers = Record<string, string>;

/** Writes the head once, on the first byte, so a failure before it can still become an error answer. */
function head(res: ServerResponse, p: RelayProgress, status: number, headers: Headers): void {
  if (res.headersSent) return;
  res.writeHead(status, headers);
  p.firstByteAt = performance.now();
}

async function write(res: ServerResponse, chunk: Buffer | string): Promise<void> {
  if (res.write(chunk)) return;
  // Wait for room, or for the client to go; the other listener is removed either way, so a
  // long stream under backpressure does not pile up listeners.
  const done = new AbortController();
  await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]).catch(() => undefined);
  done.abort();
}

/** Reads the whole body (a JSON answer). */
export async function collect({ body, watch }: UpstreamBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) {
    watch.reads++;
    parts.push(c as Buffer);
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Sends a complete answer. */
export function sendWhole(res: ServerResponse, p: RelayProgress, status: number, headers: Headers, body: Buffer | string): void {
  head(res, p, status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
  p.completed = true;
}

/**
 * Passes a stream on byte for byte (the client sees exactly what the provider sent), showing
 * each chunk to `tap` first (to meter it).
 */
export function relayRaw(
  res: ServerResponse,
  p: RelayProgress,
  status: number,
  headers: Headers,
  upstream: UpstreamBody,
  tap: (chunk: Buffer) => void,
  cut: CutEvent,
): Promise<void> {
  return pump(res, p, status, headers, upstream, async (chunk) => {
    tap(chunk);
    await write(res, chunk);
  }, () => Promise.resolve(), cut);
}

/**
 * Passes an event stream on event by event: `map` sees each upstream event (to meter it) and
 * returns what the client gets instead (none, the same, or translated events); `end` adds the
 * closing events.
 */
export function relayEvents(
  res: ServerResponse,
  p: RelayProgress,
  status: number,
  headers: Headers,
  upstream: UpstreamBody,
  map: (ev: SseEvent) => SseEvent[],
  end: () => SseEvent[],
  cut: CutEvent,
): Promise<void> {
  const parser = new SseParser();
  const emit = async (events: SseEvent[]) => {
    let out = '';
    for (const ev of events) for (const m of map(ev)) out += formatSse(m);
    if (out) await write(res, out);
  };
  return pump(res, p, status, headers, upstream, (chunk) => emit(parser.push(chunk)), async () => {
    await emit(parser.end());
    const tail = end();
    if (tail.length) await write(res, tail.map(formatSse).join(''));
  }, cut);
}

async function pump(
  res: ServerResponse,
  p: RelayProgress,
  status: number,
  headers: Headers,
  { body, watch }: UpstreamBody,
  onChunk: (chunk: Buffer) => Promise<void>,
  onEnd: () => Promise<void>,
  cut: CutEvent,
): Promise<void> {
  head(res, p, status, headers);
  try {
    for await (const chunk of body) {
      if (res.destroyed) break;
      watch.reads++;
      // Waiting on the client (backpressure) is not the upstream's silence.
      watch.busy = true;
      await onChunk(chunk as Buffer);
      watch.busy = false;
    }
    if (!res.destroyed) {
      await onEnd();
      res.end();
      p.completed = true;
    }
  } catch (err) {
    watch.busy = false;
    // The upstream broke off or went silent (or was aborted because the client left): the
    // client is told so in its own stream format, so its SDK raises an error rather than
    // taking a short answer for a whole one.
    if (!res.destroyed) {
      p.upstreamCut = true;
      p.cutBy = err;
      res.end(cut(err));
    }
  } finally {
    if (!p.completed && res.destroyed) p.clientGone = true;
  }
}
