/**
 * An upstream that sends its headers and then nothing (issue 17): a JSON request is a 504
 * `upstream_timeout` (or the next channel's answer), a stream is an error the client's SDK
 * raises (an error event in its own stream format, or a 504 while nothing was sent), and an
 * answer of which no content reached the client is voided. The timeout fires on time, and
 * the receipt of a timed-out request names the channel tried and the attempts made.
 */
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ApiError } from '@google/genai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { ChannelRepository } from '../../../src/proxy/channels/channel.repository';
import { ChannelDirectory } from '../../../src/proxy/channels/channel-directory';
import { DEFAULT_MODEL, FORMATS, Format, anthropicClient, expectSdkError, geminiClient, openaiClient, sdkCall, sdkError, sdkRequestId } from '../../support/proxy-formats';

const FUNDS = 10_000_000n;
const TIMEOUT_MS = 500;

/** One streamed answer through the format's SDK: the text that arrived, and the error raised (or null). */
async function streamVia(url: string, secret: string, format: Format, prompt: string): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    const model = DEFAULT_MODEL[format];
    if (format === 'openai') {
      const s = await openaiClient(url, secret).chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: prompt }] });
      for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    } else if (format === 'anthropic') {
      const s = await anthropicClient(url, secret).messages.create({ model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: prompt }] });
      for await (const ev of s) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    } else {
      const s = await geminiClient(url, secret).models.generateContentStream({ model, contents: prompt });
      for await (const c of s) text += c.text ?? '';
    }
  } catch (error) {
    return { text, error };
  }
  return { text, error: null };
}

/** The SDK raised an error for a failed answer: an API error with this status (mid-stream errors carry none). */
function expectStreamError(err: unknown, format: Format, status?: number): void {
  if (format === 'gemini') {
    expect(err).toBeInstanceOf(ApiError);
    if (status !== undefined) expect((err as ApiError).status).toBe(status);
    expect((err as ApiError).message).toMatch(/DEADLINE_EXCEEDED/);
    return;
  }
  if (status !== undefined) return expectSdkError(err, format, status);
  expect(err).toBeInstanceOf(format === 'openai' ? OpenAI.APIError : Anthropic.APIError);
  expect(String((err as Error).message)).toMatch(/did not|stopped|in time/);
}

describe('an upstream that sends its headers and then nothing (one channel per provider)', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  async function funded() {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    return { accountId, secret };
  }

  async function expectVoided(accountId: string, stream: boolean) {
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ stream, status: 504, error_code: 'upstream_timeout', billing: 'voided', cost_micros: 0n, attempts: 1 });
    expect(row.channel_id).not.toBeNull();
    expect(await gw.available(accountId)).toBe(FUNDS);
    const { rows } = await gw.db.pool.query('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`account-${accountId}`]);
    expect(rows.map((r) => r.type).slice(-2)).toEqual(['HoldPlaced', 'HoldVoided']);
  }

  for (const format of FORMATS) {
    it(`${format}, JSON: 504 upstream_timeout through the SDK, nothing charged`, async () => {
      const { accountId, secret } = await funded();
      fake.script({ kind: 'headers-then-silence' });
      const err = await sdkError(gw.url, secret, format);
      expectSdkError(err, format, 504);
      await expectVoided(accountId, false);
    });

    it(`${format}, stream: the SDK raises an error (not an empty success), nothing charged`, async () => {
      const { accountId, secret } = await funded();
      fake.script({ kind: 'headers-then-silence' });
      const { text, error } = await streamVia(gw.url, secret, format, 'hello there');
      expect(text).toBe('');
      expectStreamError(error, format, 504);
      await expectVoided(accountId, true);
    });

    it(`${format}, stream: content then silence: the SDK raises an error after the text, and what was delivered is charged`, async () => {
      const { accountId, secret } = await funded();
      fake.script({ kind: 'headers-then-silence', afterChunks: 5 });
      const { text, error } = await streamVia(gw.url, secret, format, 'a long answer please [reply:40]');
      expect(text.length).toBeGreaterThan(0);
      expectStreamError(error, format);
      const [row] = await gw.requests(accountId, 1);
      expect(row).toMatchObject({ stream: true, status: 200, estimated: true, billing: 'settled' });
      expect(Number(row.output_tokens)).toBeGreaterThan(0);
      expect(Number(row.output_tokens)).toBeLessThan(40);
      expect(BigInt(row.cost_micros)).toBeGreaterThan(0n);
      expect(await gw.available(accountId)).toBe(FUNDS - BigInt(row.cost_micros));
    });
  }

  for (const format of ['openai', 'anthropic'] as const) {
    it(`${format}, stream: events with no content then silence: an error event the SDK raises, and the answer voided`, async () => {
      const { accountId, secret } = await funded();
      // OpenAI's first chunk is the role alone; Anthropic's is message_start (input usage, no content).
      fake.script({ kind: 'headers-then-silence', afterChunks: 1 });
      const { text, error } = await streamVia(gw.url, secret, format, 'hello there');
      expect(text).toBe('');
      expectStreamError(error, format);
      const [row] = await gw.requests(accountId, 1);
      expect(row).toMatchObject({ stream: true, error_code: 'upstream_timeout', billing: 'voided', cost_micros: 0n, attempts: 1 });
      expect(await gw.available(accountId)).toBe(FUNDS);
    });
  }

  it('a stream broken off (not silent) before any content: an upstream_error event the SDK raises, and the answer voided', async () => {
    const { accountId, secret } = await funded();
    fake.script({ kind: 'cut', afterChunks: 1 });
    const { text, error } = await streamVia(gw.url, secret, 'openai', 'hello there');
    expect(text).toBe('');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ stream: true, status: 200, error_code: 'upstream_error', billing: 'voided', cost_micros: 0n });
    expect(await gw.available(accountId)).toBe(FUNDS);
  });

  for (const model of ['claude-haiku-4-5', 'gemini-2.0-flash']) {
    it(`OpenAI chat translated to ${model}: content then silence ends in an OpenAI error event the SDK raises`, async () => {
      const { accountId, secret } = await funded();
      fake.script({ kind: 'headers-then-silence', afterChunks: 5 });
      const s = await openaiClient(gw.url, secret).chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'a long answer please [reply:40]' }] });
      let text = '';
      const error = await (async () => {
        for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
      })().then(() => null, (e: unknown) => e);
      expect(text.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_timeout');
      const [row] = await gw.requests(accountId, 1);
      expect(row).toMatchObject({ stream: true, estimated: true, billing: 'settled' });
    });
  }

  it("a 504's receipt names the channel tried and the attempts made", async () => {
    const { secret } = await funded();
    fake.script({ kind: 'hang' });
    const err = await sdkError(gw.url, secret, 'anthropic');
    expectSdkError(err, 'anthropic', 504);
    const id = sdkRequestId(err);
    const channel = gw.app.get(ChannelDirectory).list().find((c) => c.name === 'env-anthropic');
    const res = await fetch(`${gw.url}/v1/generations/${id}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 504, error_code: 'upstream_timeout', channel_id: channel!.id, attempts: 1, billing: 'voided' });
  });
});

describe('an upstream that goes silent, with another channel to fall back on', () => {
  let primary: FakeUpstream;
  let backup: FakeUpstream;
  let gw: Gateway;
  let primaryId: string;
  let backupId: string;

  beforeAll(async () => {
    [primary, backup] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
    gw = await startGateway({ openai: primary, env: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) } });
    const added = await gw.app.get(ChannelRepository).add({ name: 'backup-openai', provider: 'openai', baseUrl: `${backup.url}/v1`, apiKey: backup.apiKey, priority: -1 });
    backupId = added.id;
    await gw.app.get(ChannelDirectory).reload();
    primaryId = gw.app.get(ChannelDirectory).list().find((c) => c.name === 'env-openai')!.id;
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([primary?.close(), backup?.close()]);
  });
  beforeEach(() => {
    primary.reset();
    backup.reset();
  });

  for (const stream of [false, true]) {
    it(`${stream ? 'a stream' : 'a JSON request'} whose channel is silent after its headers is answered by the next channel`, async () => {
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      primary.script({ kind: 'headers-then-silence' });
      const { text, error } = stream
        ? await streamVia(gw.url, secret, 'openai', 'fall back please')
        : { text: await sdkCall(gw.url, secret, 'openai', { prompt: 'fall back please' }), error: null };
      expect(error).toBeNull();
      expect(text).toContain('Hello from fake-openai');
      expect(backup.requests).toHaveLength(1);
      const [row] = await gw.requests(accountId, 1);
      expect(row).toMatchObject({ status: 200, attempts: 2, channel_id: backupId, billing: 'settled', estimated: false });
    });
  }

  it('every channel silent: 504, and the receipt names the last channel tried and both attempts', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    primary.script({ kind: 'headers-then-silence' });
    backup.script({ kind: 'hang' });
    const err = await sdkError(gw.url, secret, 'openai');
    expectSdkError(err, 'openai', 504);
    const res = await fetch(`${gw.url}/v1/generations/${sdkRequestId(err)}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(await res.json()).toMatchObject({ status: 504, error_code: 'upstream_timeout', channel_id: backupId, attempts: 2, billing: 'voided' });
    expect(primaryId).not.toBe(backupId);
    expect(await gw.available(accountId)).toBe(FUNDS);
  });
});

describe('UPSTREAM_TIMEOUT_MS fires on time', () => {
  // 100 ms: undici's own timers (a tick every ~500 ms) cannot give up on an upstream in less
  // than ~500 ms, so the bound below tells them apart from a timer that keeps the setting.
  const SHORT_MS = 100;
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake, env: { UPSTREAM_TIMEOUT_MS: String(SHORT_MS) } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('a hang before the headers, and a silence after them, are given up on within the timeout plus a little', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    for (const behaviour of [{ kind: 'hang' as const }, { kind: 'headers-then-silence' as const }, { kind: 'hang' as const }]) {
      fake.reset();
      fake.script(behaviour);
      const sent = performance.now();
      const err = await sdkError(gw.url, secret, 'openai');
      const answeredAfter = performance.now() - sent;
      expectSdkError(err, 'openai', 504);
      // Never before the timeout (less the watch's 1 ms of leeway for rounded timers): the client's
      // request left before the gateway's upstream call did.
      expect(answeredAfter).toBeGreaterThanOrEqual(SHORT_MS - 1);
      // Measured at the upstream: from its request's arrival to the gateway hanging up on it. The
      // fake runs on the gateway's event loop, so it sees the request a little after it was sent:
      // since issue 23 the hold commits while the upstream call leaves, and the commit's answer
      // may be handled first (seen: 6-7 ms on a loaded machine). The bound above is the strict one.
      const [upstream] = await fake.waitForRequests(1);
      await fake.settled(upstream);
      const waited = upstream.endedAt! - upstream.receivedAt;
      expect(waited).toBeGreaterThanOrEqual(SHORT_MS - 15);
      expect(waited).toBeLessThan(SHORT_MS * 1.5 + 300);
    }
  });

  it('a client that stops reading is not the upstream going silent: the answer arrives whole after a pause of many timeouts', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    fake.reset();
    // Megabytes of events to a client that stops reading (a raw socket, paused: fetch would
    // buffer them all), so the gateway's socket to it fills and its relay waits on it.
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a very long answer [reply:30000]' }] });
    const { port } = new URL(gw.url);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      const parts: Buffer[] = [];
      let paused = false;
      socket.on('error', reject);
      socket.on('data', (c: Buffer) => {
        parts.push(c);
        if (paused) return;
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), SHORT_MS * 6);
      });
      socket.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${secret}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).not.toContain('"error"');
    expect(text).toContain('data: [DONE]');
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, error_code: null, estimated: false });
  });
});
