/**
 * The stream relay (src/proxy/relay.ts) between a real HTTP server and client on loopback: the
 * upstream's body is a stream this test writes into, as undici's body would be read.
 */
import { AddressInfo } from 'node:net';
import { IncomingMessage, Server, ServerResponse, createServer, request } from 'node:http';
import { PassThrough } from 'node:stream';
import { RelayProgress, collect, newProgress, relayRaw } from '../../../src/proxy/relay';
import { SilenceWatch } from '../../../src/proxy/upstream/silence-watch';

interface Relayed {
  progress: RelayProgress;
  body: PassThrough;
  watch: SilenceWatch;
  res: ServerResponse;
  done: Promise<void>;
}

describe('relayRaw (real HTTP on loopback)', () => {
  let server: Server;
  let port: number;
  let next: ((r: Relayed) => void) | null = null;
  let tap: (chunk: Buffer, res: ServerResponse) => void = () => undefined;
  /** What happens to the upstream's body before the relay starts (the hold's commit is awaited there). */
  let before: (body: PassThrough) => Promise<void> | void = () => undefined;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      const body = new PassThrough();
      void Promise.resolve(before(body)).then(() => {
        const watch = new SilenceWatch(60_000, () => undefined);
        const progress = newProgress();
        const done = relayRaw(res, progress, 200, { 'content-type': 'text/event-stream' }, { body, watch }, (c) => tap(c, res), (err) => `data: cut (${(err as Error).message})\n\n`).finally(() => watch.stop());
        next?.({ progress, body, watch, res, done });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    tap = () => undefined;
    before = () => undefined;
  });

  /** Opens a request; resolves with the relay on the server side and the client's response. */
  async function open(): Promise<{ relayed: Relayed; res: IncomingMessage; client: ReturnType<typeof request> }> {
    const relayed = new Promise<Relayed>((resolve) => (next = resolve));
    const client = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
    client.end();
    const r = await relayed;
    r.body.write('data: 1\n\n'); // the head goes with the first byte
    const res = await new Promise<IncomingMessage>((resolve) => client.once('response', resolve));
    return { relayed: r, res, client };
  }

  const readAll = (res: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });

  it('hands each chunk to the client before the meter sees it, and ends the answer whole', async () => {
    let upstreamBytes = 0;
    const seen: boolean[] = [];
    tap = (chunk, res) => {
      upstreamBytes += chunk.length;
      // bytesWritten counts what the socket was given, sent or still buffered (head and chunk framing included)
      seen.push(res.socket!.bytesWritten >= upstreamBytes);
    };
    const { relayed, res } = await open();
    const text = readAll(res);
    for (let i = 2; i <= 5; i++) relayed.body.write(`data: ${i}\n\n`);
    relayed.body.end('data: [DONE]\n\n');
    await relayed.done;
    expect(await text).toBe('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\ndata: [DONE]\n\n');
    expect(seen).toEqual([true, true, true, true, true, true]);
    expect(relayed.progress).toMatchObject({ completed: true, clientGone: false, upstreamCut: false });
    expect(relayed.watch.reads).toBe(6);
  });

  it('pauses the upstream while the client reads nothing (and that wait is not upstream silence), then passes everything on in order', async () => {
    const { relayed, res } = await open();
    res.pause();
    const big = `data: ${'x'.repeat(64 * 1024)}\n\n`;
    let written = 0;
    while (!relayed.body.isPaused() && written < 400) {
      relayed.body.write(big);
      written++;
      await new Promise((r) => setImmediate(r));
    }
    expect(relayed.body.isPaused()).toBe(true);
    expect(relayed.watch.busy).toBe(true);
    relayed.body.end('data: [DONE]\n\n');
    const text = readAll(res);
    res.resume();
    await relayed.done;
    const got = await text;
    expect(got.length).toBe('data: 1\n\n'.length + written * big.length + 'data: [DONE]\n\n'.length);
    expect(got.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(relayed.watch.busy).toBe(false);
    expect(relayed.progress.completed).toBe(true);
  });

  it('an upstream that breaks off: the client is told in its stream, and the relay says why', async () => {
    const { relayed, res } = await open();
    const text = readAll(res);
    relayed.body.write('data: 2\n\n');
    const broke = new Error('socket hang up');
    relayed.body.destroy(broke);
    await relayed.done;
    expect(await text).toBe('data: 1\n\ndata: 2\n\ndata: cut (socket hang up)\n\n');
    expect(relayed.progress).toMatchObject({ completed: false, upstreamCut: true, clientGone: false, cutBy: broke });
  });

  it('an upstream body closed without its end is a cut too', async () => {
    const { relayed, res } = await open();
    const text = readAll(res);
    relayed.body.destroy();
    await relayed.done;
    expect(await text).toMatch(/^data: 1\n\ndata: cut \(.+\)\n\n$/);
    expect(relayed.progress.upstreamCut).toBe(true);
  });

  it('a client that leaves mid-stream: the relay ends at once and stops reading the upstream', async () => {
    const { relayed, res, client } = await open();
    await new Promise((r) => res.once('data', r));
    client.destroy();
    await relayed.done; // without an upstream end or error: the client's leaving is enough
    expect(relayed.progress).toMatchObject({ completed: false, clientGone: true, upstreamCut: false });
    expect(relayed.body.destroyed).toBe(true); // its connection goes back to the pool
  });

  for (const [how, end] of [
    ['broken off with an error', (b: PassThrough) => b.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))],
    ['closed without its end', (b: PassThrough) => b.destroy()],
  ] as const) {
    it(`an upstream answer ${how} before the relay starts (while the hold commits): the client gets the cut event at once, never a hang`, async () => {
      before = async (body) => {
        body.on('error', () => undefined); // as undici's body: destroyed unread, it raises no unhandled error
        body.write('data: lost\n\n');
        end(body);
        await new Promise<void>((resolve) => body.once('close', () => resolve())); // its events are gone by the time the relay starts
      };
      const relayed = new Promise<Relayed>((resolve) => (next = resolve));
      const client = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false });
      client.end();
      const r = await relayed;
      const res = await new Promise<IncomingMessage>((resolve) => client.once('response', resolve));
      const text = await readAll(res);
      await r.done;
      expect(text).toMatch(/^data: cut \((other side closed|the upstream answer closed before its end)\)\n\n$/);
      expect(r.progress).toMatchObject({ completed: false, upstreamCut: true });
    });
  }
});

describe('collect (a JSON answer read whole)', () => {
  const upstream = () => {
    const body = new PassThrough();
    const watch = new SilenceWatch(60_000, () => undefined);
    return { body, watch, read: () => collect({ body, watch }).finally(() => watch.stop()) };
  };

  it('the chunks in order, each counted on the watch, once the body ends', async () => {
    const u = upstream();
    const got = u.read();
    u.body.write('{"a":');
    setImmediate(() => u.body.end('1}'));
    expect((await got).toString()).toBe('{"a":1}');
    expect(u.watch.reads).toBe(2);
  });

  it('what was already waiting in the body when the read starts', async () => {
    const u = upstream();
    u.body.end('{"whole":true}');
    await new Promise((r) => setImmediate(r));
    expect((await u.read()).toString()).toBe('{"whole":true}');
  });

  it('the body\'s error when it breaks off, and a premature close when it closes without its end (before the read too)', async () => {
    const broken = upstream();
    const a = broken.read();
    broken.body.write('{"a":');
    setImmediate(() => broken.body.destroy(Object.assign(new Error('socket hang up'), { code: 'UND_ERR_SOCKET' })));
    await expect(a).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });

    const closed = upstream();
    const b = closed.read();
    setImmediate(() => closed.body.destroy());
    await expect(b).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });

    const gone = upstream();
    gone.body.destroy();
    await expect(gone.read()).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
