/**
 * The SseParser as it was before issue 23's streams step (a character loop for line ends, each
 * line sliced, then split at its colon), kept as it was: the oracle the faster parser
 * (src/proxy/streaming/sse.ts) must agree with, event for event (test/unit/proxy/sse.spec.ts),
 * and the "before" of bench/proxy/sse-tap.bench.ts.
 */
import { StringDecoder } from 'node:string_decoder';
import type { SseEvent } from '../../src/proxy/streaming/sse';

export class ReferenceSseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];
  private pendingCr = false;

  push(chunk: Buffer | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (this.pendingCr) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCr = false;
    }
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      let nl = -1;
      for (let i = start; i < this.buffer.length; i++) {
        const c = this.buffer.charCodeAt(i);
        if (c === 10 || c === 13) {
          nl = i;
          break;
        }
      }
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

  end(): SseEvent[] {
    const out = this.buffer.length ? this.push('\n\n') : [];
    const rest = this.line('');
    return rest ? [...out, rest] : out;
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
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return null;
  }
}
