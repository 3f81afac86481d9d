/**
 * One HTTP/1.1 POST written by hand on a TCP socket, counting every byte that comes back: for
 * tests that must show a client received nothing at all (not a status line, not a header) up to
 * some moment. No HTTP client in between that could buffer or hide what arrived.
 */
import { connect } from 'node:net';

export interface RawExchange {
  /** Bytes received so far (status line and headers included). */
  received(): number;
  /** The whole answer, once the server closed the connection (the request asks it to). */
  answer: Promise<RawHttpAnswer>;
  /** Cuts the connection (the client goes away). */
  destroy(): void;
}

export interface RawHttpAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body, de-chunked when it came chunked. */
  body: string;
}

export function rawPost(url: string, path: string, headers: Record<string, string>, body: unknown): RawExchange {
  const { hostname, port } = new URL(url);
  const payload = Buffer.from(JSON.stringify(body));
  const head = [
    `POST ${path} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    'content-type: application/json',
    `content-length: ${payload.length}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  let count = 0;
  const answer = new Promise<RawHttpAnswer>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      count += c.length;
      chunks.push(c);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
  answer.catch(() => undefined); // a test that destroys the socket need not read the answer
  socket.write(`${head}\r\n\r\n`);
  socket.write(payload);
  return { received: () => count, answer, destroy: () => socket.destroy() };
}

function parse(text: string): RawHttpAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP head in ${text.length} bytes`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body };
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) throw new Error('a chunked body cut before its last chunk');
    const size = parseInt(text.slice(at, eol), 16);
    if (size === 0) return out;
    // Sizes count bytes; the text is decoded, so slice by bytes.
    const rest = Buffer.from(text.slice(eol + 2), 'utf8');
    const chunk = rest.subarray(0, size).toString('utf8');
    out += chunk;
    at = eol + 2 + chunk.length + 2;
  }
}
