/**
 * HTTP/2 to upstreams (issue 23: no hidden cap on concurrent streams). A channel with `--http2 on`
 * offers h2 by ALPN and, when the upstream takes it, carries its requests as streams of one
 * connection; a channel without it stays on HTTP/1.1, one request per connection, even to an
 * upstream that offers h2. Answers over h2, JSON and streamed, are billed exactly as over
 * HTTP/1.1. TLS is verified: the gateway reaches the test's upstream only because
 * UPSTREAM_CA_FILE names its certificate, and without it the request fails with nothing sent.
 *
 * The real app, the fake upstream in its TLS mode (node:http2, a certificate made at test time
 * with openssl), the official OpenAI and Anthropic SDKs.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, receiptCost, startGateway } from '../../support/gateway';
import { testCert } from '../../support/tls-cert';
import { ChannelRepository } from '../../../src/proxy/channels/channel.repository';
import { ChannelDirectory } from '../../../src/proxy/channels/channel-directory';
import { UpstreamClient } from '../../../src/proxy/upstream/upstream-client';

const cert = testCert();
const skip = 'missing' in cert ? cert.missing : null;
if (skip) console.warn(`SKIPPED: HTTP/2 to upstreams: ${skip}`);
const maybe = skip ? describe.skip : describe;

const MODEL = 'gpt-4o-mini';

maybe('HTTP/2 to upstreams', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream({ tls: true });
    gw = await startGateway({ openai: fake, anthropic: fake, env: { UPSTREAM_CA_FILE: (cert as { certFile: string }).certFile, ACCOUNT_RPM: '100000' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  async function setHttp2(ref: string, http2: boolean): Promise<void> {
    await gw.app.get(ChannelRepository).update(ref, { http2 });
    await gw.app.get(ChannelDirectory).reload();
  }

  async function client(credits = 100_000_000n) {
    const accountId = await gw.account(credits);
    const { secret } = await gw.key(accountId);
    return { accountId, secret, openai: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }) };
  }

  /** n answers at once, half JSON and half streamed; each one's text and the usage the upstream reported. */
  async function concurrently(openai: OpenAI, n: number): Promise<Array<{ text: string; usage: { prompt_tokens: number; completion_tokens: number } }>> {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        // Every answer waits 150 ms before its first byte: they are all in flight at once.
        const content = `request ${i} [reply:${5 + (i % 7)}] [first-byte-ms:150] [chunk-ms:20]`;
        if (i % 2 === 0) {
          const r = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });
          return { text: r.choices[0].message.content ?? '', usage: r.usage! };
        }
        let text = '';
        let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
        for await (const c of await openai.chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content }] })) {
          text += c.choices[0]?.delta?.content ?? '';
          if (c.usage) usage = c.usage;
        }
        return { text, usage: usage! };
      }),
    );
  }

  it('a channel without --http2 stays on HTTP/1.1 over TLS, one request per connection, though the upstream offers h2', async () => {
    await setHttp2('env-openai', false);
    const { openai } = await client();
    await concurrently(openai, 6);
    expect(fake.requests).toHaveLength(6);
    expect(new Set(fake.requests.map((r) => r.protocol))).toEqual(new Set(['http/1.1']));
    expect(fake.connections.every((c) => c.alpn === 'http/1.1')).toBe(true);
    expect(new Set(fake.requests.map((r) => r.connection)).size).toBeGreaterThan(1); // concurrent: their own connections
  });

  it('a channel with --http2 talks h2, many concurrent streams share one connection, and each answer is billed exactly', async () => {
    await setHttp2('env-openai', true);
    const { accountId, openai } = await client();
    // A first request opens the connection and negotiates h2 (the ones of a cold channel each open their own).
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'warm up [reply:2]' }] });
    expect(fake.requests[0].protocol).toBe('h2');
    fake.reset();

    const N = 24;
    const answers = await concurrently(openai, N);
    expect(fake.requests).toHaveLength(N);
    expect(new Set(fake.requests.map((r) => r.protocol))).toEqual(new Set(['h2']));
    expect(fake.connections).toHaveLength(0); // no new connection: every stream on the warm one
    expect(new Set(fake.requests.map((r) => r.connection)).size).toBe(1);
    expect(new Set(fake.requests.map((r) => r.streamId)).size).toBe(N);
    // They were in flight together, not one after another on a shared connection.
    const inFlightAt = (t: number) => fake.requests.filter((r) => r.receivedAt <= t && r.endedAt! > t).length;
    expect(Math.max(...fake.requests.map((r) => inFlightAt(r.receivedAt)))).toBeGreaterThan(N / 2);

    for (const a of answers) expect(a.text.split(' ').length).toBeGreaterThanOrEqual(5);
    const rows = (await gw.requests(accountId, N + 1)).slice(1);
    let spent = 0n;
    for (const row of rows) {
      expect(row).toMatchObject({ status: 200, billing: 'settled' });
      expect(BigInt(row.cost_micros)).toBe(receiptCost(row));
      expect(BigInt(row.cost_micros)).toBe(gw.price(MODEL, { inputTokens: Number(row.input_tokens), cachedTokens: 0, cacheWriteTokens: 0, outputTokens: Number(row.output_tokens) }));
      spent += BigInt(row.cost_micros);
    }
    // What each client was told it used is what it was charged for.
    const told = answers.map((a) => `${a.usage.prompt_tokens}/${a.usage.completion_tokens}`).sort();
    expect(rows.map((r) => `${r.input_tokens}/${r.output_tokens}`).sort()).toEqual(told);
    const [warm] = await gw.requests(accountId, 1);
    expect(await gw.available(accountId)).toBe(100_000_000n - spent - BigInt(warm.cost_micros));
  });

  it('over h2, a client that leaves mid-stream ends only its own stream: the others on the connection finish and are billed', async () => {
    await setHttp2('env-openai', true);
    const { accountId, openai } = await client();
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'warm up [reply:2]' }] });
    fake.reset();
    const leaving = new AbortController();
    const left = (async () => {
      const s = await openai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'long [reply:200] [chunk-ms:20]' }] }, { signal: leaving.signal });
      let n = 0;
      for await (const _ of s) if (++n === 3) leaving.abort();
    })().catch(() => undefined); // the SDK may end the loop or throw on its abort: either way it left
    const others = concurrently(openai, 6);
    await left;
    const answers = await others;
    expect(answers).toHaveLength(6);
    expect(new Set(fake.requests.map((r) => r.connection)).size).toBe(1);
    const rows = await gw.requests(accountId, 8);
    expect(rows.filter((r) => r.status === 200 && r.billing === 'settled')).toHaveLength(7); // the warm-up and the 6
    const cut = fake.requests.find((r) => r.body && JSON.stringify(r.body).includes('[reply:200]'))!;
    await fake.settled(cut);
    expect(cut.aborted).toBe(true); // the upstream stream was reset, not left running
    expect(cut.endedAt! - cut.receivedAt).toBeLessThan(2_000); // 200 chunks 20 ms apart would take 4 s
  });

  it('Anthropic over h2 too, streamed through its SDK', async () => {
    await setHttp2('env-anthropic', true);
    const accountId = await gw.account(100_000_000n);
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: (await gw.key(accountId)).secret, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi [reply:6]' }] });
    const final = await stream.finalMessage();
    expect(fake.requests.at(-1)!.protocol).toBe('h2');
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
    expect([Number(row.input_tokens), Number(row.output_tokens)]).toEqual([final.usage.input_tokens, final.usage.output_tokens]);
  });

  it('TLS is verified: a gateway that does not trust the certificate reaches nothing and charges nothing', async () => {
    const untrusting = await startGateway({ db: gw.db, openai: fake });
    try {
      await untrusting.app.get(ChannelRepository).update('env-openai', { http2: true });
      await untrusting.app.get(ChannelDirectory).reload();
      const accountId = await untrusting.account(100_000_000n);
      const openai = new OpenAI({ baseURL: `${untrusting.url}/v1`, apiKey: (await untrusting.key(accountId)).secret, maxRetries: 0 });
      const err = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).catch((e: { status: number }) => e);
      expect((err as { status: number }).status).toBeGreaterThanOrEqual(500);
      expect(fake.requests).toHaveLength(0);
      expect(await untrusting.available(accountId)).toBe(100_000_000n);
    } finally {
      await untrusting.close();
    }
  });

  it('a --http2 channel whose upstream declines h2 (ALPN http/1.1) keeps one request per connection: answers never queue behind each other', async () => {
    const h1 = await startFakeUpstream({ tls: 'http/1.1' });
    const behind = await startGateway({ db: gw.db, openai: h1, env: { UPSTREAM_CA_FILE: (cert as { certFile: string }).certFile } });
    try {
      await behind.app.get(ChannelRepository).update('env-openai', { http2: true });
      await behind.app.get(ChannelDirectory).reload();
      const accountId = await behind.account(100_000_000n);
      const openai = new OpenAI({ baseURL: `${behind.url}/v1`, apiKey: (await behind.key(accountId)).secret, maxRetries: 0 });
      await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'warm up [reply:2]' }] });
      h1.reset();
      await concurrently(openai, 8); // each waits 150 ms for its first byte
      expect(new Set(h1.requests.map((r) => r.protocol))).toEqual(new Set(['http/1.1']));
      // Never a request sent down a connection whose previous answer is still under way (HTTP/1.1
      // pipelining: its answer would wait behind the whole of that one; undici holds a POST back
      // only until the answer ahead has its headers). Streamed answers last 100-250 ms here.
      for (const r of h1.requests) {
        const ahead = h1.requests.filter((q) => q !== r && q.connection === r.connection && q.receivedAt <= r.receivedAt && q.endedAt! - r.receivedAt > 30);
        expect(ahead).toHaveLength(0);
      }
      const rows = await behind.requests(accountId, 9);
      expect(rows.filter((r) => r.status === 200 && r.billing === 'settled')).toHaveLength(9);
    } finally {
      await behind.close();
      await h1.close();
    }
  });

  it('UPSTREAM_CA_FILE that cannot be read stops the start, rather than failing every request', () => {
    expect(() => new UpstreamClient({ UPSTREAM_TIMEOUT_MS: 1_000, UPSTREAM_MAX_CONNECTIONS: 8, UPSTREAM_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/ENOENT/);
  });
});
