/**
 * The privacy promise (DESIGN.md): a request's content never reaches disk, a database, Redis,
 * a queue or a log line. A canary string, new on every run, goes in the prompts of every
 * endpoint (and, through scripted upstream answers, in responses and upstream error bodies);
 * afterwards it must be found nowhere: not in any table of the gateway's database, not in any
 * Redis key or value (nor in pub/sub traffic under the gateway's prefix), not in the gateway's logs or console output,
 * and not in any file written meanwhile under the repo or /tmp.
 *
 * Every search has a positive control (it finds an id known to be there), and the fake
 * upstream must have received the canary on every route, so the test cannot pass vacuously.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import Redis from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import {
  ConsoleCapture,
  captureConsole,
  filesContaining,
  listenToChannels,
  newCanary,
  searchPostgres,
  searchRedis,
  searchZip,
} from '../../support/canary-search';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ExportsService } from '../../../src/compliance/export/application/exports.service';
import { waitFor } from '../../support/wait';
import { anthropicClient, geminiClient, openaiClient } from '../../support/proxy-formats';
import { TEST_REDIS_URL } from '../../support/test-env';

const CANARY = newCanary();
// Error messages quote short inputs whole (V8's JSON.parse quotes up to 20 characters), so a
// second, short canary catches content that leaks through an error message.
const SHORT = `cn${randomBytes(6).toString('hex')}`;
const BOTH = [CANARY, SHORT];
const mask = (s: string) => s.replaceAll(CANARY, '<CANARY>').replaceAll(SHORT, '<SHORT>');
const PROMPT = `Remember the code ${CANARY} and tell me about the weather`;
const SYSTEM = `You keep the code ${CANARY} to yourself`;

let fake: FakeUpstream;
let gw: Gateway;
let accountId: string;
/** The person whose account it is (their data export is searched too). */
let userId: string;
let oa: OpenAI;
let an: Anthropic;
let gg: GoogleGenAI;
let restrictedAn: Anthropic;
let pubsub: Awaited<ReturnType<typeof listenToChannels>>;
const startedAt = new Date();
let consoleOut: ConsoleCapture;
/** Request ids of requests that failed upstream, found later in the logs and receipts. */
const failedIds: string[] = [];

beforeAll(async () => {
  consoleOut = captureConsole();
  fake = await startFakeUpstream();
  // One fake speaks all three formats; each provider's channel points at it.
  // With the background jobs on, so the hold-expiry sweep's BullMQ queue is in Redis too and
  // the read models (open holds included) are in the searched database.
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { API_RUNS_WORKERS: 'true', HOLD_TTL_SECONDS: '2' } });
  // Two free requests first, then holds: both ways of paying go through the searched stores.
  // A person's account (not a bare ledger account), so their data export can be searched too.
  const person = await gw.app.get(UsersService).registerByOperator(`canary-owner-${randomBytes(4).toString('hex')}@example.org`, 'cli:test', 2);
  ({ userId, accountId } = person);
  await gw.app.get(LedgerService).execute(accountId, { type: 'GrantCredits', data: { grantId: 'test-funds', amount: 100_000_000n, reason: 'test funds' } });
  const { secret } = await gw.key(accountId);
  const restricted = await gw.key(accountId, { models: ['gpt-4o-mini'] });
  oa = openaiClient(gw.url, secret);
  an = anthropicClient(gw.url, secret);
  gg = geminiClient(gw.url, secret);
  restrictedAn = anthropicClient(gw.url, restricted.secret);
  // After the key set-up: a listener during a key broadcast would be waited on for an ack.
  pubsub = await listenToChannels(TEST_REDIS_URL, gw.config.REDIS_KEY_PREFIX);
});

afterAll(async () => {
  await pubsub?.stop();
  await gw?.close();
  await fake?.close();
  consoleOut?.restore();
});

/** The fake received the canary on this route (so the gateway really carried it). */
function reachedUpstream(path: string | RegExp): void {
  const matching = fake.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  expect(matching.some((r) => JSON.stringify(r.body).includes(CANARY))).toBe(true);
}

const chatMessages = [
  { role: 'system' as const, content: SYSTEM },
  { role: 'user' as const, content: PROMPT },
];

describe('the canary goes through every endpoint', () => {
  it('OpenAI chat, whole and streamed', async () => {
    const r = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages });
    expect(r.choices[0].message.content).toMatch(/^Hello from fake-openai/);
    let text = '';
    for await (const c of await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages, stream: true })) {
      text += c.choices[0]?.delta.content ?? '';
    }
    expect(text).toMatch(/^Hello from fake-openai/);
    reachedUpstream('/v1/chat/completions');
  });

  it('OpenAI completions and embeddings', async () => {
    const c = await oa.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: PROMPT, max_tokens: 20 });
    expect(c.choices[0].text).toMatch(/fake-openai/);
    reachedUpstream('/v1/completions');
    const e = await oa.embeddings.create({ model: 'text-embedding-3-small', input: [PROMPT, CANARY] });
    expect(e.data).toHaveLength(2);
    reachedUpstream('/v1/embeddings');
  });

  it('OpenAI responses, whole and streamed', async () => {
    const r = await oa.responses.create({ model: 'gpt-4o-mini', instructions: SYSTEM, input: PROMPT });
    expect(r.output_text).toMatch(/^Hello from fake-openai/);
    let text = '';
    for await (const ev of await oa.responses.create({ model: 'gpt-4o-mini', instructions: SYSTEM, input: PROMPT, stream: true })) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    expect(text).toMatch(/^Hello from fake-openai/);
    reachedUpstream('/v1/responses');
  });

  it('Anthropic messages, whole and streamed, and count_tokens', async () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 200, system: SYSTEM, messages: [{ role: 'user' as const, content: PROMPT }] };
    const m = await an.messages.create(params);
    expect(m.content[0].type === 'text' && m.content[0].text).toMatch(/^Hello from fake-anthropic/);
    let text = '';
    for await (const ev of await an.messages.create({ ...params, stream: true })) {
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    expect(text).toMatch(/^Hello from fake-anthropic/);
    reachedUpstream('/v1/messages');
    const count = await an.messages.countTokens({ model: 'claude-haiku-4-5', system: SYSTEM, messages: params.messages });
    expect(count.input_tokens).toBeGreaterThan(0);
    reachedUpstream('/v1/messages/count_tokens');
  });

  it('Gemini generateContent and streamGenerateContent', async () => {
    const req = { model: 'gemini-2.0-flash', contents: PROMPT, config: { systemInstruction: SYSTEM } };
    const r = await gg.models.generateContent(req);
    expect(r.text).toMatch(/^Hello from fake-gemini/);
    let text = '';
    for await (const c of await gg.models.generateContentStream(req)) text += c.text ?? '';
    expect(text).toMatch(/^Hello from fake-gemini/);
    reachedUpstream(/:generateContent$/);
    reachedUpstream(/:streamGenerateContent$/);
  });

  it('OpenAI chat translated to an Anthropic and a Gemini model, whole and streamed', async () => {
    for (const model of ['claude-haiku-4-5', 'gemini-2.0-flash']) {
      const r = await oa.chat.completions.create({ model, messages: chatMessages });
      expect(r.choices[0].message.content).toMatch(/^Hello from fake-(anthropic|gemini)/);
      let text = '';
      for await (const c of await oa.chat.completions.create({ model, messages: chatMessages, stream: true })) {
        text += c.choices[0]?.delta.content ?? '';
      }
      expect(text).toMatch(/^Hello from fake-(anthropic|gemini)/);
    }
    expect(fake.requests.filter((r) => r.path === '/v1/messages' && JSON.stringify(r.body).includes(CANARY))).toHaveLength(4);
    reachedUpstream(/^\/v1beta\/models\/gemini-2\.0-flash:/);
  });

  it('answers that carry the canary back (the provider echoing content), whole and in error bodies', async () => {
    fake.script({
      kind: 'status',
      status: 200,
      body: {
        id: 'chatcmpl-canary', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: `The code is ${CANARY}` }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
      },
    });
    const echoed = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages });
    expect(echoed.choices[0].message.content).toContain(CANARY);

    fake.script({
      kind: 'status',
      status: 200,
      body: {
        id: 'msg_canary', type: 'message', role: 'assistant', model: 'claude-haiku-4-5',
        content: [{ type: 'text', text: `The code is ${CANARY}` }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 4 },
      },
    });
    const m = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    expect(m.content[0].type === 'text' && m.content[0].text).toContain(CANARY);

    fake.script({
      kind: 'status',
      status: 200,
      body: {
        candidates: [{ content: { role: 'model', parts: [{ text: `The code is ${CANARY}` }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 4, totalTokenCount: 16 },
        modelVersion: 'gemini-2.0-flash',
      },
    });
    const g = await gg.models.generateContent({ model: 'gemini-2.0-flash', contents: PROMPT });
    expect(g.text).toContain(CANARY);

    // A provider refusing the request and quoting it back: passed through as-is, and translated.
    const quoted = { error: { message: `Invalid content near "${CANARY}"`, type: 'invalid_request_error', param: null, code: null } };
    fake.script({ kind: 'status', status: 400, body: quoted });
    const e1 = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.BadRequestError);
    expect((e1 as Error).message).toContain(CANARY);
    fake.script({ kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: `bad: ${CANARY}` } } });
    const e2 = await oa.chat.completions.create({ model: 'claude-haiku-4-5', messages: chatMessages }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(OpenAI.BadRequestError);

    // Not JSON where JSON was due: passed on as-is, and (translated) parsed by the gateway.
    fake.script({ kind: 'status', status: 200, body: SHORT }, { kind: 'status', status: 200, body: SHORT });
    const garbled = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }).catch((e: unknown) => e);
    expect(garbled).toHaveProperty('message'); // the SDK's own JSON.parse failed (an Error of another realm under jest)
    const translated = await oa.chat.completions.create({ model: 'claude-haiku-4-5', messages: chatMessages }).catch((e: unknown) => e);
    expect(translated).toBeInstanceOf(OpenAI.APIError);
  });

  it('streams cut by the upstream and abandoned by the client', async () => {
    fake.script({ kind: 'cut', afterChunks: 3 });
    const cut = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages, stream: true });
    await (async () => {
      for await (const _ of cut) void _;
    })().catch(() => undefined); // whether the SDK throws on a cut stream is its business

    fake.script({ kind: 'slow', delayMsPerChunk: 30 });
    const slow = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }], stream: true });
    for await (const ev of slow) if (ev.type === 'content_block_delta') break; // the client goes away
  });

  it('a request that fails upstream (500), a refused model, and malformed JSON', async () => {
    fake.script({ kind: 'status', status: 500, body: { error: { message: `upstream broke on ${CANARY}`, type: 'server_error' } } });
    const failed = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: chatMessages }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    failedIds.push((failed as InstanceType<typeof OpenAI.APIError>).requestID!);
    expect(fake.requests[fake.requests.length - 1].status).toBe(500);
    reachedUpstream('/v1/chat/completions');

    const before = fake.requests.length;
    const refused = await restrictedAn.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const geminiRefused = await geminiClient(gw.url, 'tg-not-a-real-key').models
      .generateContent({ model: 'gemini-2.0-flash', contents: PROMPT })
      .catch((e: unknown) => e);
    expect(geminiRefused).toBeInstanceOf(ApiError);
    expect((geminiRefused as ApiError).status).toBe(401);

    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oa.apiKey}`, 'content-type': 'application/json' },
      body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${CANARY}"}`,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain(CANARY);
    expect(fake.requests.length).toBe(before); // none of these three went upstream
  });
});

describe('afterwards, the canary is nowhere', () => {
  beforeAll(async () => {
    // Settling, voiding and the request log happen after the answer: wait until every request
    // that reached the upstream has its row, then a little for queue clean-up.
    const expected = fake.requests.length;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { rows } = await gw.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM request_log');
      if (rows[0].n >= expected) break;
      if (Date.now() > deadline) throw new Error(`request_log has ${rows[0].n} of ${expected} rows`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
  });

  it('went upstream on every route (so this is not vacuous)', () => {
    const routes = new Set(fake.requests.filter((r) => JSON.stringify(r.body).includes(CANARY)).map((r) => r.path.replace(/\/models\/[^/:]+:/, '/models/*:')));
    expect([...routes].sort()).toEqual([
      '/v1/chat/completions',
      '/v1/completions',
      '/v1/embeddings',
      '/v1/messages',
      '/v1/messages/count_tokens',
      '/v1/responses',
      '/v1beta/models/*:generateContent',
      '/v1beta/models/*:streamGenerateContent',
    ]);
  });

  it('is in no data export of the person (built by the worker, read back from the zip)', async () => {
    const exports = gw.app.get(ExportsService);
    const { exportId } = await exports.request(userId, { actor: 'cli:test' });
    await waitFor(async () => (await exports.get(exportId, userId)).status === 'ready', 30_000, 'the export to be ready');
    const parts: Buffer[] = [];
    for await (const c of exports.download(await exports.get(exportId, userId))) parts.push(c as Buffer);
    const zip = Buffer.concat(parts);
    // Positive controls: the usage rows of the failed requests and the account are in it.
    expect((await searchZip(zip, failedIds[0])).hits).toEqual(['usage.json', 'usage.csv']);
    expect((await searchZip(zip, accountId)).hits).toContain('manifest.json');
    for (const needle of BOTH) {
      const found = await searchZip(zip, needle);
      expect(found.entriesSearched).toBeGreaterThanOrEqual(31);
      expect(found.hits).toEqual([]);
    }
  });

  it('is in no table of the gateway database (events, read models, request log, everything)', async () => {
    const control = await searchPostgres(gw.db.pool, failedIds[0]);
    expect(control.hits.some((h) => h.startsWith('public.request_log'))).toBe(true);
    expect((await searchPostgres(gw.db.pool, accountId)).hits.some((h) => h.startsWith('public.events'))).toBe(true);
    for (const needle of BOTH) {
      const found = await searchPostgres(gw.db.pool, needle);
      expect(found.tablesSearched).toBeGreaterThanOrEqual(8);
      expect(found.hits).toEqual([]);
    }
  });

  it('is in no Redis key or value (any prefix, any type, BullMQ included), nor in pub/sub traffic', async () => {
    const prefix = gw.config.REDIS_KEY_PREFIX;
    const ids = await searchRedis(TEST_REDIS_URL, accountId);
    expect(ids.hits.some((h) => h.includes(prefix) && h.endsWith(': name'))).toBe(true); // rate-limit counters
    const queue = await searchRedis(TEST_REDIS_URL, 'hold-expiry-sweep');
    expect(queue.hits.some((h) => h.includes(`${prefix}bull`))).toBe(true); // BullMQ's keys are searched too
    for (const needle of BOTH) {
      const found = await searchRedis(TEST_REDIS_URL, needle);
      expect(found.unreadable.filter((k) => k.includes(prefix))).toEqual([]);
      expect(found.hits).toEqual([]);
    }
    const control = new Redis(TEST_REDIS_URL);
    await control.publish(`${prefix}canary-control`, 'control').finally(() => control.quit());
    await new Promise((r) => setTimeout(r, 100));
    expect(pubsub.messages.map((m) => m.channel)).toContain(`${prefix}canary-control`);
    expect(pubsub.messages.filter((m) => BOTH.some((n) => m.message.includes(n))).map((m) => m.channel)).toEqual([]);
  });

  it('is in no log line and nothing written to the console', () => {
    expect(gw.logs.some((l) => l.includes(failedIds[0]))).toBe(true);
    // Shown masked when found, so the failure report does not spread the canary further.
    expect(gw.logs.filter((l) => BOTH.some((n) => l.includes(n))).map(mask)).toEqual([]);
    expect(consoleOut.lines.filter((l) => BOTH.some((n) => l.includes(n))).map(mask)).toEqual([]);
  });

  it('is in no file written during the test under the repo or the temp directory', async () => {
    const roots = [process.cwd(), tmpdir()];
    const control = newCanary();
    const controlFile = join(tmpdir(), `canary-control-${randomUUID()}.txt`);
    writeFileSync(controlFile, `control ${control}\n`);
    try {
      expect(await filesContaining(roots, startedAt, control)).toEqual([controlFile]);
    } finally {
      unlinkSync(controlFile);
    }
    for (const needle of BOTH) expect(await filesContaining(roots, startedAt, needle)).toEqual([]);
  });
});
