/**
 * The official SDKs, pointed at the gateway with only their base URL changed, get the answers
 * the provider gave, streaming and not, and each account is charged exactly what the price
 * table says for the usage the provider reported.
 */
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { TokenUsage } from '../../../src/proxy/pricing/cost';
import { openUsage, sealedDay } from '../../../src/compliance/retention/usage-seal';

const FUNDS = 10_000_000n; // 10 credits
const usage = (inputTokens: number, outputTokens: number, cachedTokens = 0): TokenUsage => ({
  inputTokens,
  outputTokens,
  cachedTokens,
  cacheWriteTokens: 0,
});

describe('official SDK clients through the gateway', () => {
  let openaiUp: FakeUpstream;
  let anthropicUp: FakeUpstream;
  let geminiUp: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    [openaiUp, anthropicUp, geminiUp] = await Promise.all([startFakeUpstream(), startFakeUpstream(), startFakeUpstream()]);
    gw = await startGateway({ openai: openaiUp, anthropic: anthropicUp, gemini: geminiUp });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([openaiUp?.close(), anthropicUp?.close(), geminiUp?.close()]);
  });

  async function funded() {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    return { accountId, secret };
  }

  /** Settles the account's `n` requests and checks it paid exactly `expected` in all. */
  async function expectCharged(accountId: string, n: number, expected: bigint) {
    const rows = await gw.requests(accountId, n);
    expect(rows.map((r) => r.billing)).toEqual(Array(n).fill('settled'));
    expect(rows.reduce((sum, r) => sum + BigInt(r.cost_micros), 0n)).toBe(expected);
    expect(await gw.available(accountId)).toBe(FUNDS - expected);
    return rows;
  }

  it('openai: chat completions, whole and streamed, with the provider usage charged exactly', async () => {
    const { accountId, secret } = await funded();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const { data: whole, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'say hello to me please' }] })
      .withResponse();
    expect(whole.choices[0].message.content).toBe('Hello from fake-openai: 5 words received');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // The client did not ask for usage: the gateway asked for billing, and the client does not see it.
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true });
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Hello from fake-openai: 3 words received');
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    // Asked for: the usage chunk arrives, as the provider sent it.
    const withUsage = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'four words right here' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let reported: OpenAI.CompletionUsage | undefined;
    for await (const c of withUsage) if (c.usage) reported = c.usage;
    expect(reported).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 });

    const expected =
      gw.price('gpt-4o-mini', usage(whole.usage!.prompt_tokens, whole.usage!.completion_tokens)) +
      gw.price('gpt-4o-mini', usage(3, 6)) +
      gw.price('gpt-4o-mini', usage(4, 6));
    const rows = await expectCharged(accountId, 3, expected);
    expect(rows.map((r) => r.stream)).toEqual([false, true, true]);
    expect(rows.every((r) => r.estimated === false)).toBe(true);
    // Each charge in the ledger says which price table it used, as the request log does (its
    // usage is sealed with the day's key: compliance/retention).
    const { rows: settled } = await gw.db.pool.query(
      `SELECT data FROM events WHERE stream_id = $1 AND type = 'HoldSettled' ORDER BY stream_version`,
      [`account-${accountId}`],
    );
    const { rows: keys } = await gw.db.pool.query(`SELECT to_char(day, 'YYYY-MM-DD') AS day, key FROM usage_day_keys`);
    const keyOf = (value: string) => keys.find((k) => k.day === sealedDay(value))!.key as Buffer;
    expect(settled.every((e) => e.data.usage === null)).toBe(true);
    expect(settled.map((e) => openUsage(keyOf(e.data.sealedUsage), e.data.sealedUsage, e.data.holdId).priceVersion)).toEqual(rows.map((r) => r.price_version));
    expect(rows[0].price_version).toBeGreaterThanOrEqual(1);
  });

  it('openai streams: when only the gateway asked for usage, no chunk carries a usage field, and the usage chunk is withheld', async () => {
    const { accountId, secret } = await funded();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const chat: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two' }], stream: true })) {
      chat.push(c);
    }
    const legacy: OpenAI.Completion[] = [];
    for await (const c of await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'one two three', stream: true, max_tokens: 20 })) {
      legacy.push(c);
    }
    expect(chat.length).toBeGreaterThan(2);
    expect(legacy.length).toBeGreaterThan(1);
    for (const c of [...chat, ...legacy]) {
      expect(Object.keys(c)).not.toContain('usage'); // the upstream sent `"usage":null` in every one
      expect(c.choices).toHaveLength(1);
    }
    // The same on the wire, byte for byte what a hand-written client would parse.
    const raw = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'three more words' }], stream: true, stream_options: {} }),
    });
    const text = await raw.text();
    expect(raw.status).toBe(200);
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"usage"');
    expect(text).not.toContain('"choices":[]');
    // What the client asked for itself is passed on as the provider sent it.
    const asked = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'four' }], stream: true, stream_options: { include_usage: true } }),
    });
    const askedText = await asked.text();
    expect(askedText.match(/"usage":null/g)?.length).toBeGreaterThan(2);
    expect(askedText).toMatch(/"choices":\[\],"usage":\{"prompt_tokens":1,/);
    // Billing still read the provider's own figures for every one of them.
    const rows = await gw.requests(accountId, 4);
    expect(rows.map((r) => [r.billing, r.estimated])).toEqual(Array(4).fill(['settled', false]));
  });

  it('openai: embeddings, legacy completions and the responses API', async () => {
    const { accountId, secret } = await funded();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'embed these five words now' });
    expect(emb.data[0].embedding.length).toBeGreaterThan(0);
    const comp = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'complete me', max_tokens: 20 });
    expect(comp.choices[0].text).toContain('Hello from fake-openai');
    const resp = await client.responses.create({ model: 'gpt-4o-mini', input: 'respond to these words' });
    expect(resp.output_text).toBe('Hello from fake-openai: 4 words received');
    const events: string[] = [];
    const rs = await client.responses.create({ model: 'gpt-4o-mini', input: 'stream a response', stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const e of rs) {
      events.push(e.type);
      if (e.type === 'response.completed') completed = e.response;
    }
    expect(events[0]).toBe('response.created');
    expect(completed?.usage).toMatchObject({ input_tokens: 3, output_tokens: 6 });

    const expected =
      gw.price('text-embedding-3-small', usage(emb.usage.prompt_tokens, 0)) +
      gw.price('gpt-3.5-turbo-instruct', usage(comp.usage!.prompt_tokens, comp.usage!.completion_tokens)) +
      gw.price('gpt-4o-mini', usage(resp.usage!.input_tokens, resp.usage!.output_tokens)) +
      gw.price('gpt-4o-mini', usage(3, 6));
    await expectCharged(accountId, 4, expected);
  });

  it('anthropic: messages whole and streamed, and count_tokens (not charged)', async () => {
    const { accountId, secret } = await funded();
    const client = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    const msg = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello claude how are you' }] });
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake-anthropic: 5 words received' });
    const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'stream [cached] this please now' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Hello from fake-anthropic: 5 words received' });
    const counted = await client.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'count me' }] });
    expect(counted.input_tokens).toBe(2);

    const expected =
      gw.price('claude-haiku-4-5', usage(msg.usage.input_tokens, msg.usage.output_tokens)) +
      gw.price('claude-haiku-4-5', usage(final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens ?? 0));
    expect(final.usage.cache_read_input_tokens).toBeGreaterThan(0); // the cached rate really applied
    const rows = await gw.requests(accountId, 3);
    expect(rows.find((r) => r.endpoint === 'anthropic.count_tokens')).toMatchObject({ billing: 'none', cost_micros: 0n });
    expect(await gw.available(accountId)).toBe(FUNDS - expected);
  });

  it('gemini: generateContent and generateContentStream', async () => {
    const { accountId, secret } = await funded();
    const ai = new GoogleGenAI({ apiKey: secret, httpOptions: { baseUrl: gw.url, fetch } });
    const r = await ai.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hello gemini my friend' });
    expect(r.text).toBe('Hello from fake-gemini: 4 words received');
    let text = '';
    let last: { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.0-flash', contents: 'stream it' })) {
      text += c.text ?? '';
      if (c.usageMetadata) last = c.usageMetadata;
    }
    expect(text).toBe('Hello from fake-gemini: 2 words received');
    const expected =
      gw.price('gemini-2.0-flash', usage(r.usageMetadata!.promptTokenCount!, r.usageMetadata!.candidatesTokenCount!)) +
      gw.price('gemini-2.0-flash', usage(last!.promptTokenCount!, last!.candidatesTokenCount!));
    await expectCharged(accountId, 2, expected);
  });

  it('openai chat format reaching Anthropic and Gemini models, streaming and not, tools included', async () => {
    const { accountId, secret } = await funded();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const claude = await client.chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hi from openai format' }] });
    expect(claude.choices[0].message.content).toBe('Hello from fake-anthropic: 4 words received');
    expect(claude.object).toBe('chat.completion');
    const gem = await client.chat.completions.create({
      model: 'gemini-2.0-flash',
      messages: [{ role: 'user', content: 'hi gemini' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let reported: OpenAI.CompletionUsage | undefined;
    for await (const c of gem) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) reported = c.usage;
    }
    expect(text).toBe('Hello from fake-gemini: 2 words received');
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ];
    const toolCall = await client.chat.completions.create({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'use the tool for Paris' }],
      tools,
    });
    expect(toolCall.choices[0].finish_reason).toBe('tool_calls');
    expect(toolCall.choices[0].message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });

    const expected =
      gw.price('claude-haiku-4-5', usage(claude.usage!.prompt_tokens, claude.usage!.completion_tokens)) +
      gw.price('gemini-2.0-flash', usage(reported!.prompt_tokens, reported!.completion_tokens)) +
      gw.price('claude-haiku-4-5', usage(toolCall.usage!.prompt_tokens, toolCall.usage!.completion_tokens));
    await expectCharged(accountId, 3, expected);
  });

  it('refuses what cannot be translated, naming the parameter, and charges nothing', async () => {
    const { accountId, secret } = await funded();
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }], n: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    expect(await gw.available(accountId)).toBe(FUNDS);
    expect(anthropicUp.requests.some((r) => JSON.stringify(r.body).includes('"n":2'))).toBe(false);
  });
});
