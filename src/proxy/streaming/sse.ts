/**
 * Server-sent events, as the providers send them: an incremental parser that takes the
 * upstream's chunks as they come (events may span chunks, lines may end in \n, \r\n or \r)
 * and a writer for the events we send ourselves. Nothing here buffers more than the one
 * event still incomplete.
 */
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  event?: string;
  data: string;
}

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];
  private pendingCr = false;

  /**
   * Feeds one chunk; returns the events it completed, in order. Runs once per upstream chunk of
   * every stream (10,000 a second with 2,000 streams open), so lines are found with indexOf
   * (a native scan) where the text has no \r, and `data:` lines, nearly all of them, are read
   * without slicing the line first.
   */
  push(chunk: Buffer | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    // A \r at the end of the last chunk may be the first half of \r\n.
    if (this.pendingCr) {
      if (text.charCodeAt(0) === 10) text = text.slice(1);
      this.pendingCr = false;
    }
    const buf = this.buffer.length ? this.buffer + text : text;
    const out: SseEvent[] = [];
    const n = buf.length;
    let start = 0;
    if (buf.indexOf('\r') < 0) {
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
        const done = this.line(buf, start, nl);
        start = nl + 1;
        if (done) out.push(done);
      }
    } else {
      for (let nl = nextLineEnd(buf, 0); nl >= 0; nl = nextLineEnd(buf, start)) {
        const done = this.line(buf, start, nl);
        if (buf.charCodeAt(nl) === 13) {
          if (nl + 1 === n) this.pendingCr = true;
          start = buf.charCodeAt(nl + 1) === 10 ? nl + 2 : nl + 1;
        } else {
          start = nl + 1;
        }
        if (done) out.push(done);
      }
    }
    this.buffer = start === 0 ? buf : start >= n ? '' : buf.slice(start);
    return out;
  }

  /** The end of the stream: a last event not followed by a blank line still counts. */
  end(): SseEvent[] {
    const out = this.buffer.length ? this.push('\n\n') : [];
    const rest = this.line('', 0, 0);
    return rest ? [...out, rest] : out;
  }

  /** The line buf[from, to) (its end of line excluded); an event when the line is blank and ends one. */
  private line(buf: string, from: number, to: number): SseEvent | null {
    if (from === to) {
      if (this.data.length === 0 && this.event === undefined) return null;
      const ev: SseEvent = { data: this.data.length === 1 ? this.data[0] : this.data.join('\n') };
      if (this.event !== undefined) ev.event = this.event;
      this.data = [];
      this.event = undefined;
      return ev;
    }
    const first = buf.charCodeAt(from);
    if (first === 58) return null; // ':' a comment (keep-alive)
    // 'data:' (the 'data:' cannot run past the line: it holds no line end).
    if (first === 100 && buf.startsWith('data:', from)) {
      this.data.push(buf.slice(buf.charCodeAt(from + 5) === 32 && from + 5 < to ? from + 6 : from + 5, to));
      return null;
    }
    const line = buf.slice(from, to);
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return null;
  }
}

/** Where the next line from `from` ends (its \n or \r), or -1. */
function nextLineEnd(buf: string, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const c = buf.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return -1;
}

/** One event on the wire. Multi-line data is split into data lines, as the format requires. */
export function formatSse(ev: SseEvent): string {
  const head = ev.event !== undefined ? `event: ${ev.event}\n` : '';
  return `${head}data: ${ev.data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}
