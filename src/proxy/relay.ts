/**
 * Relays an upstream answer to the client while reading its usage, without holding more than
 * it must: SSE is passed on chunk by chunk (with backpressure), and only a JSON answer, which
 * the client gets whole anyway, is collected before it is sent.
 *
 * Nothing read here is kept beyond the request, written anywhere, or logged.
 */
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

const ignore = () => undefined;

/** Writes the head once, on the first byte, so a failure before it can still become an error answer. */
function head(res: ServerResponse, p: RelayProgress, status: number, headers: Headers): void {
  if (res.headersSent) return;
  res.writeHead(status, headers);
  p.firstByteAt = performance.now();
}

/**
 * Reads the whole body (a JSON answer), on its events as the relay's loop does: an async
 * iterator cost a promise per chunk and its own end-of-stream machinery (1.6% of the gateway's
 * busy time on JSON). Rejects as the iterator did: with the body's error, or a premature close
 * when it closes (or was destroyed before this started) without its end.
 */
export function collect({ body, watch }: UpstreamBody): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let over = false;
    const finish = (err: Error | undefined) => {
      if (over) return;
      over = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err !== undefined) {
        if (!body.destroyed) body.destroy();
        reject(err);
      } else {
        resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      }
    };
    const onData = (c: Buffer) => {
      watch.reads++;
      parts.push(c);
    };
    const onEnd = () => finish(undefined);
    const onError = (err: Error | undefined) => finish(err ?? prematureClose());
    const onClose = () => finish(body.errored ?? prematureClose());
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.on('error', ignore); // an abort after the end (the client gone) must not be an unhandled error
    body.once('close', onClose);
    if (body.destroyed) return finish(body.errored ?? prematureClose());
    body.resume();
  });
}

/** Sends a complete answer. */
export function sendWhole(res: ServerResponse, p: RelayProgress, status: number, headers: Headers, body: Buffer | string): void {
  head(res, p, status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
  p.completed = true;
}

/**
 * Passes a stream on byte for byte (the client sees exactly what the provider sent), showing
 * each chunk to `tap` (to meter it) once it is on its way to the client: the meter's parse is
 * not between the upstream's chunk and the client's.
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
  return pump(res, p, status, headers, upstream, (chunk) => {
    const room = res.write(chunk);
    tap(chunk);
    return room;
  }, NOTHING_MORE, cut);
}

const NOTHING_MORE = () => undefined;

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
  const emit = (events: SseEvent[]): boolean => {
    let out = '';
    for (const ev of events) for (const m of map(ev)) out += formatSse(m);
    return out ? res.write(out) : true;
  };
  return pump(res, p, status, headers, upstream, (chunk) => emit(parser.push(chunk)), () => {
    emit(parser.end());
    const tail = end();
    if (tail.length) res.write(tail.map(formatSse).join(''));
  }, cut);
}

/**
 * The relay's loop, on the body's events rather than an async iterator: a chunk costs no promise
 * and no turn of the microtask queue (with 2,000 streams open that is 10,000 chunks a second).
 * `onChunk` writes the chunk (or what it becomes) and says whether the client's socket has room;
 * when it has none, the body is paused until the socket drains (backpressure, as before), and
 * that wait is the client's, not the upstream's silence. `onEnd` writes what closes the answer.
 * Resolves once the answer is over: ended, cut (the client is told in its own format, so its SDK
 * raises an error rather than taking a short answer for a whole one), or left by the client.
 */
function pump(
  res: ServerResponse,
  p: RelayProgress,
  status: number,
  headers: Headers,
  { body, watch }: UpstreamBody,
  onChunk: (chunk: Buffer) => boolean,
  onEnd: () => void,
  cut: CutEvent,
): Promise<void> {
  head(res, p, status, headers);
  return new Promise<void>((resolve) => {
    let over = false;
    const finish = (err: unknown, ended: boolean) => {
      if (over) return;
      over = true;
      body.off('data', onData);
      body.off('end', onBodyEnd);
      body.off('error', onError);
      body.off('close', onBodyClose);
      res.off('drain', onDrain);
      res.off('close', onClientClose);
      watch.busy = false;
      if (!res.destroyed) {
        if (ended) {
          try {
            onEnd();
          } catch (e) {
            ended = false;
            err = e;
          }
        }
        if (ended) {
          res.end();
          p.completed = true;
        } else {
          p.upstreamCut = true;
          p.cutBy = err;
          res.end(cut(err));
        }
      }
      if (!ended && !body.destroyed) body.destroy(); // nobody reads it any more: its connection's slot is given back
      if (!p.completed && res.destroyed) p.clientGone = true;
      resolve();
    };
    const onData = (chunk: Buffer) => {
      watch.reads++;
      if (res.destroyed) return finish(undefined, false);
      let room: boolean;
      try {
        room = onChunk(chunk);
      } catch (err) {
        return finish(err, false);
      }
      if (!room && !res.destroyed) {
        // Waiting on the client (backpressure) is not the upstream's silence.
        watch.busy = true;
        body.pause();
        res.once('drain', onDrain);
      }
    };
    const onDrain = () => {
      watch.busy = false;
      body.resume();
    };
    const onBodyEnd = () => finish(undefined, true);
    const onError = (err: unknown) => finish(err, false);
    // Closed without its end (destroyed unread): cut, as an async iterator would have said.
    const onBodyClose = () => finish(prematureClose(), false);
    const onClientClose = () => finish(undefined, false);
    body.on('data', onData);
    body.once('end', onBodyEnd);
    body.once('error', onError);
    body.on('error', ignore); // an abort after the end (the client gone) must not be an unhandled error
    body.once('close', onBodyClose);
    res.once('close', onClientClose);
    // The body may be over before the relay starts: the hold's commit is awaited between the
    // upstream's headers and here, and an upstream can break off meanwhile. Its events are then
    // gone, so its state says how it ended (else the relay would wait for ever).
    if (body.destroyed) return finish(body.errored ?? prematureClose(), false);
    body.resume();
  });
}

const prematureClose = () => Object.assign(new Error('the upstream answer closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
