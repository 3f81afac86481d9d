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

  /** Feeds one chunk; returns the events it completed, in order. */
  push(chunk: Buffer | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    // A \r at the end of the last chunk may be the first half of \r\n.
    if (this.pendingCr) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCr = false;
    }
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.nextLineEnd(start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      if (this.buffer[nl] === '\r') {
        if (nl + 1 === this.buffer.length) this.pendingCr = true;
        start = this.buffer[nl + 1] === '\n' ? nl + 2 : nl + 1;
      } else {
        start = nl + 1;
      }
      const done = this.line(line);
      if (done) out.push(done);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The end of the stream: a last event not followed by a blank line still counts. */
  end(): SseEvent[] {
    const out = this.buffer.length ? this.push('\n\n') : [];
    const rest = this.line('');
    return rest ? [...out, rest] : out;
  }

  private nextLineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c === 10 || c === 13) return i;
    }
    return -1;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0 && this.event === undefined) return null;
      const ev: SseEvent = { data: this.data.join('\n') };
      if (this.event !== undefined) ev.event = this.event;
      this.data = [];
      this.event = undefined;
      return ev;
    }
    if (line.startsWith(':')) return null; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return null;
  }
}

/** One event on the wire. Multi-line data is split into data lines, as the format requires. */
export function formatSse(ev: SseEvent): string {
  const head = ev.event !== undefined ? `event: ${ev.event}\n` : '';
  return `${head}data: ${ev.data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}
