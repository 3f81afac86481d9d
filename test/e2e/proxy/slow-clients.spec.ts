/**
 * Clients that never finish sending (issue 16, item 6): a stalled body or stalled headers are
 * answered 408, in the shape of the API the path belongs to, and closed within the configured
 * bound; an idle keep-alive connection is closed too. The bounds are for receiving only: an
 * answer that streams for longer than them still arrives whole.
 *
 * Raw sockets (node:net), because every HTTP client finishes what it sends.
 */
import { connect } from 'node:net';
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

const HEADERS_MS = 400;
const REQUEST_MS = 700;
const KEEP_ALIVE_MS = 500;
/** Scheduling slack on a shared machine; the bound itself is what the test asserts. */
const SLACK_MS = 1_500;

let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({
    openai: fake,
    anthropic: fake,
    gemini: fake,
    env: {
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

interface Closed {
  text: string;
  elapsedMs: number;
}

/** Opens a socket, writes `parts` (a string, or strings with pauses between), and waits for the gateway to close it. */
function sendAndWaitForClose(parts: string[], pauseMs = 0, giveUpMs = 8_000): Promise<Closed> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the gateway kept the connection open for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (c) => received.push(c));
    socket.on('error', () => undefined); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(received).toString('utf8'), elapsedMs: Date.now() - started });
    });
    const send = async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        if (!socket.destroyed) socket.write(p);
      }
    };
    socket.on('connect', () => void send());
  });
}

function statusAndBody(text: string): { status: number; body: unknown } {
  const [head, body] = text.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: body ? JSON.parse(body) : undefined };
}

describe('a request that stops arriving', () => {
  it('a chunked body that stops after 5 bytes: 408 in OpenAI shape, closed within HTTP_REQUEST_TIMEOUT_MS', async () => {
    const closed = await sendAndWaitForClose([
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tg-anything\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mod',
    ]);
    expect(closed.elapsedMs).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(closed.elapsedMs).toBeLessThan(REQUEST_MS + SLACK_MS);
    const { status, body } = statusAndBody(closed.text);
    expect(status).toBe(408);
    expect(body).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'request_timeout' } });
  });

  it('Content-Length 1000 with 9 bytes sent: 408 in Anthropic shape under /v1/messages', async () => {
    const closed = await sendAndWaitForClose([
      'POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: tg-anything\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":',
    ]);
    expect(closed.elapsedMs).toBeLessThan(REQUEST_MS + SLACK_MS);
    const { status, body } = statusAndBody(closed.text);
    expect(status).toBe(408);
    expect(body).toEqual({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
  });

  it('a body that trickles in past the bound: 408 in Gemini shape under /v1beta', async () => {
    const head = 'POST /v1beta/models/gemini-2.0-flash:generateContent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    // A byte every 150 ms never lets the socket idle, so only a bound on the whole request stops it.
    const closed = await sendAndWaitForClose([head, ...'{"contents":[{"parts":[{"text":"hi"}]}]}'.split('')], 150);
    expect(closed.elapsedMs).toBeLessThan(REQUEST_MS + SLACK_MS);
    const { status, body } = statusAndBody(closed.text);
    expect(status).toBe(408);
    expect(body).toEqual({ error: { code: 408, message: expect.any(String), status: expect.any(String) } });
  });

  it('headers that stop arriving: closed within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const closed = await sendAndWaitForClose(['POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthori']);
    expect(closed.elapsedMs).toBeLessThan(HEADERS_MS + SLACK_MS);
    expect(statusAndBody(closed.text).status).toBe(408);
  });

  it('a connection that never sends a byte is closed within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const closed = await sendAndWaitForClose([]);
    expect(closed.elapsedMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const closed = await sendAndWaitForClose(['GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(closed.text).toMatch(/^HTTP\/1\.1 401 /); // answered, then left idle
    expect(closed.elapsedMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 50);
    expect(closed.elapsedMs).toBeLessThan(KEEP_ALIVE_MS + SLACK_MS);
  });
});

describe('an answer that takes longer than the receiving bounds', () => {
  it('a streamed answer of several times HTTP_REQUEST_TIMEOUT_MS arrives whole', async () => {
    const accountId = await gw.account(10_000_000n);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    fake.script({ kind: 'slow', delayMsPerChunk: 150 });
    const started = Date.now();
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'a long answer please [reply:20]' }],
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(Date.now() - started).toBeGreaterThan(3 * REQUEST_MS);
    expect(finish).toBe('stop');
    expect(text.split(/\s+/).filter(Boolean)).toHaveLength(20);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, error_code: null });
  });
});
