/**
 * The fake upstream, held to the official SDKs pointed straight at it: if these clients
 * parse what it sends (answers, streams, usage, tool calls, errors), the gateway's tests
 * against it exercise the real wire formats.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { FakeUpstream, countWords, fakeToolCall, startFakeUpstream } from '../../support/fake-upstream';

let fake: FakeUpstream;
let oa: OpenAI;
let an: Anthropic;
let gg: GoogleGenAI;

beforeAll(async () => {
  fake = await startFakeUpstream();
  oa = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: fake.apiKey, maxRetries: 0 });
  an = new Anthropic({ baseURL: fake.url, apiKey: fake.apiKey, maxRetries: 0 });
  // Under jest the SDK's default Undici dispatcher (looked up on the sandbox's globalThis) is
  // missing; handing it a fetch makes it use that instead (see the report / e2e notes).
  gg = new GoogleGenAI({ apiKey: fake.apiKey, httpOptions: { baseUrl: fake.url, fetch } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' } },
  required: ['city'],
};
const WEATHER_ARGS = { city: 'fake', days: 1 };
// `get_weather {"city": "fake", "days": 1}` is five words.
const WEATHER_OUTPUT_TOKENS = 5;

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(fake.url + path, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('OpenAI', () => {
  it('answers chat from word counts, never echoing the prompt, and records the request', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'Tell me about canary-8f2a the weather' },
    ];
    const r = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(r.model).toBe('gpt-4o-mini');
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message.content).toBe('Hello from fake-openai: 9 words received');
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 });
    expect(r.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const [rec] = fake.requests;
    expect(rec).toMatchObject({ method: 'POST', path: '/v1/chat/completions', behaviour: 'ok', status: 200 });
    expect(rec.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(rec.body).toMatchObject({ model: 'gpt-4o-mini', messages });
  });

  it('streams chat a word per chunk, then a usage chunk with no choices, then [DONE]', async () => {
    const stream = await oa.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Count these five words' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const deltas = chunks.flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content] : []));
    expect(deltas).toHaveLength(6);
    expect(deltas.join('')).toBe('Hello from fake-openai: 4 words received');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.model === 'gpt-4o')).toBe(true);

    const wire = await raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(wire.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(wire.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(wire.text).not.toContain('"usage"'); // only sent when include_usage asks for it
  });

  it('reports [cached] input, obeys [reply:N] and cuts at max_tokens', async () => {
    const messages = [{ role: 'user' as const, content: 'one two three [cached] [reply:10]' }];
    const long = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(countWords(long.choices[0].message.content!)).toBe(10);
    expect(long.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 10 });
    expect(long.usage?.prompt_tokens_details?.cached_tokens).toBe(2);
    const cut = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 3 });
    expect(cut.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Hello from fake-openai:' } });
    expect(cut.usage?.completion_tokens).toBe(3);
  });

  it('calls a tool when asked, whole and streamed with arguments in pieces', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER_SCHEMA } }];
    expect(fakeToolCall('get_weather', WEATHER_SCHEMA)).toMatchObject({ args: WEATHER_ARGS, outputTokens: WEATHER_OUTPUT_TOKENS });
    const ask = [{ role: 'user' as const, content: 'Please use the tool for Paris' }];
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages: ask, tools });
    const call = r.choices[0].message.tool_calls![0];
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual(WEATHER_ARGS);
    expect(r.usage?.completion_tokens).toBe(WEATHER_OUTPUT_TOKENS);

    const plain = await oa.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools });
    expect(plain.choices[0].message.tool_calls).toBeUndefined();

    const stream = await oa.chat.completions.create({ model: 'gpt-4o', messages: ask, tools, stream: true });
    let args = '';
    let pieces = 0;
    let first: { id?: string; name?: string } = {};
    for await (const c of stream) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        expect(t.index).toBe(0);
        if (t.id) first = { id: t.id, name: t.function?.name };
        if (t.function?.arguments) pieces++;
        args += t.function?.arguments ?? '';
      }
    }
    expect(first.id).toMatch(/^call_/);
    expect(first.name).toBe('get_weather');
    expect(pieces).toBeGreaterThan(1);
    expect(JSON.parse(args)).toEqual(WEATHER_ARGS);
  });

  it('answers in text once a tool result follows the question, as a model does', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER_SCHEMA } }];
    const messages = [
      { role: 'user' as const, content: 'Please use the tool for Paris' },
      { role: 'assistant' as const, content: null, tool_calls: [{ id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool' as const, tool_call_id: 'call_1', content: 'sunny and 21 C' },
    ];
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages, tools });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    // The tool's result counts as input, as the user's words do.
    expect(r.usage?.prompt_tokens).toBe(countWords('Please use the tool for Paris sunny and 21 C'));
  });

  it("calls the function a 'tool-call' behaviour names, declared or not, whole and streamed", async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER_SCHEMA } }];
    fake.script({ kind: 'tool-call', name: 'revoke_key', args: { key_id: 'k-1' } }, { kind: 'tool-call', name: 'revoke_key', args: { key_id: 'k-1' } });
    const r = await oa.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools });
    const call = r.choices[0].message.tool_calls![0];
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('revoke_key');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ key_id: 'k-1' });
    expect(r.usage?.completion_tokens).toBe(countWords('revoke_key {"key_id": "k-1"}'));
    let args = '';
    let name = '';
    for await (const c of await oa.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        name += t.function?.name ?? '';
        args += t.function?.arguments ?? '';
      }
    }
    expect(name).toBe('revoke_key');
    expect(JSON.parse(args)).toEqual({ key_id: 'k-1' });
    // Then normal answers again.
    const after = await oa.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools });
    expect(after.choices[0].message.content).toMatch(/^Hello from fake-openai/);
  });

  it('answers legacy completions, whole and streamed', async () => {
    const r = await oa.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    expect(r.choices[0].text).toBe('Hello from fake-openai: 5 words received');
    expect(r.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    const s = await oa.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: ['a b', 'c'],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    for await (const c of s) {
      text += c.choices[0]?.text ?? '';
      usage = c.usage ?? usage;
    }
    expect(text).toBe('Hello from fake-openai: 3 words received');
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
  });

  it('returns embeddings as floats, as base64, and decoded by the SDK by default', async () => {
    const input = ['alpha beta', 'gamma'];
    const floats = await oa.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0].embedding).toHaveLength(16);
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const b64 = await oa.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'base64' });
    const bytes = Buffer.from(b64.data[1].embedding as unknown as string, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(floats.data[1].embedding);
    const byDefault = await oa.embeddings.create({ model: 'text-embedding-3-small', input, dimensions: 16 });
    expect(fake.requests[2].body).toMatchObject({ encoding_format: 'base64' });
    expect(byDefault.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
  });

  it('answers responses, whole and as the typed event stream', async () => {
    const params = { model: 'gpt-4.1-mini', instructions: 'Be brief.', input: 'Hello there [cached]' };
    const expectedUsage = {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 2 },
      output_tokens: 6,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 11,
    };
    const r = await oa.responses.create(params);
    expect(r.output_text).toBe('Hello from fake-openai: 5 words received');
    expect(r).toMatchObject({ status: 'completed', model: 'gpt-4.1-mini', usage: expectedUsage });

    const events = [];
    for await (const e of await oa.responses.create({ ...params, stream: true })) events.push(e);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(6).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const last = events[events.length - 1];
    expect(last.type === 'response.completed' && last.response.usage).toEqual(expectedUsage);
  });

  it('paces a stream from its prompt: [first-byte-ms:N] before the first chunk, [chunk-ms:N] between the others', async () => {
    const started = performance.now();
    const stream = await oa.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'pace [first-byte-ms:120] [chunk-ms:30] [reply:4]' }] });
    const arrivals: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      arrivals.push(performance.now() - started);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(countWords(text)).toBe(4);
    expect(arrivals[0]).toBeGreaterThanOrEqual(115); // timers may fire a millisecond or so early
    // role, 4 words, finish: each chunk at least ~30 ms after the one before it went out.
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual((arrivals.length - 1) * 30 - 10);
    // Without markers, no wait: the same answer at once (not timed: only that it is whole).
    const plain = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'no pace [reply:4]' }] });
    expect(countWords(plain.choices[0].message.content ?? '')).toBe(4);
  });

  it('lists models', async () => {
    const ids = [];
    for await (const m of oa.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o-mini');
  });

  it('refuses a wrong key with 401 in the OpenAI error shape', async () => {
    const bad = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.error).toEqual({ message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    const unknown = await raw('/v1/nope', { method: 'POST', headers: { authorization: `Bearer ${fake.apiKey}` } });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error).toMatchObject({ message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error' });
  });
});

describe('Anthropic', () => {
  const base = { model: 'claude-haiku-4-5', max_tokens: 100, system: 'Be brief.' };
  const hi = [{ role: 'user' as const, content: 'Hi there friend' }];

  it('answers messages with Anthropic usage and records its headers', async () => {
    const r = await an.messages.create({ ...base, messages: hi });
    expect(r).toMatchObject({ type: 'message', role: 'assistant', model: base.model, stop_reason: 'end_turn' });
    expect(r.content).toEqual([{ type: 'text', text: 'Hello from fake-anthropic: 5 words received' }]);
    expect(r.usage).toMatchObject({ input_tokens: 5, output_tokens: 6, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(fake.requests[0].headers.authorization).toBe(`Bearer ${fake.apiKey}`); // how SDK 1.x sends the key
    expect(fake.requests[0].headers['anthropic-version']).toBeTruthy();
  });

  it('streams the message events in order, with usage at start and in message_delta', async () => {
    const events = [];
    for await (const e of await an.messages.create({ ...base, messages: hi, stream: true })) events.push(e);
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      ...Array(6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0];
    expect(start.type === 'message_start' && start.message.usage).toMatchObject({ input_tokens: 5, output_tokens: 1 });
    const delta = events[events.length - 2];
    expect(delta.type === 'message_delta' && delta).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } });

    const texts: string[] = [];
    const final = await an.messages.stream({ ...base, messages: hi }).on('text', (t) => texts.push(t)).finalMessage();
    expect(texts.join('')).toBe('Hello from fake-anthropic: 5 words received');
    expect(final.usage).toMatchObject({ input_tokens: 5, output_tokens: 6 });

    const wire = await raw('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': fake.apiKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...base, messages: hi, stream: true }),
    });
    expect(wire.text).toContain('event: ping\ndata: {"type":"ping"}\n\n');
    expect(wire.text.startsWith('event: message_start\ndata: ')).toBe(true);
  });

  it('reports cache reads and writes apart from input_tokens, and counts tokens', async () => {
    const read = await an.messages.create({ ...base, system: undefined, messages: [{ role: 'user', content: '[cached] a b c d e' }] });
    expect(read.usage).toMatchObject({ input_tokens: 3, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 });
    const write = await an.messages.create({ ...base, system: undefined, messages: [{ role: 'user', content: '[cache-write] a b c' }] });
    expect(write.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 0, cache_creation_input_tokens: 2 });
    const count = await an.messages.countTokens({ model: base.model, system: base.system, messages: hi });
    expect(count).toEqual({ input_tokens: 5 });
  });

  it('answers with tool_use when asked, whole and with input_json_delta pieces', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather', input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema }];
    const ask = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Use the tool please' }] }];
    const r = await an.messages.create({ ...base, messages: ask, tools });
    expect(r.stop_reason).toBe('tool_use');
    expect(r.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: WEATHER_ARGS }]);
    expect(r.usage.output_tokens).toBe(WEATHER_OUTPUT_TOKENS);

    const pieces: string[] = [];
    const stream = an.messages.stream({ ...base, messages: ask, tools });
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') pieces.push(e.delta.partial_json);
    });
    const final = await stream.finalMessage();
    expect(pieces.filter(Boolean).length).toBeGreaterThan(1);
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: WEATHER_ARGS });
    expect(final.stop_reason).toBe('tool_use');
  });

  it('refuses a wrong key (401) and a missing anthropic-version (400) in its error shape', async () => {
    const bad = new Anthropic({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 });
    const err = await bad.messages.create({ ...base, messages: hi }).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'Invalid bearer token' } });
    const wrongHeader = await raw('/v1/messages', { method: 'POST', headers: { 'x-api-key': 'wrong', 'anthropic-version': '2023-06-01' }, body: '{}' });
    expect(wrongHeader.status).toBe(401);
    expect(JSON.parse(wrongHeader.text).error).toEqual({ type: 'authentication_error', message: 'invalid x-api-key' });
    const noVersion = await raw('/v1/messages', { method: 'POST', headers: { 'x-api-key': fake.apiKey }, body: '{}' });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.text)).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
    });
  });
});

describe('Gemini', () => {
  const model = 'gemini-2.0-flash';
  const config = { systemInstruction: 'Be kind' };

  it('answers generateContent with usageMetadata and records the key header', async () => {
    const r = await gg.models.generateContent({ model, contents: 'Write a short poem', config });
    expect(r.text).toBe('Hello from fake-gemini: 6 words received');
    expect(r.modelVersion).toBe(model);
    expect(r.candidates?.[0].finishReason).toBe('STOP');
    expect(r.usageMetadata).toMatchObject({ promptTokenCount: 6, candidatesTokenCount: 6, totalTokenCount: 12 });
    expect(r.usageMetadata?.cachedContentTokenCount).toBeUndefined();
    expect(fake.requests[0].path).toBe(`/v1beta/models/${model}:generateContent`);
    expect(fake.requests[0].headers['x-goog-api-key']).toBe(fake.apiKey);
  });

  it('streams over SSE a word per event, the last one with full usage and no [DONE]', async () => {
    const chunks = [];
    for await (const c of await gg.models.generateContentStream({ model, contents: 'Write a short poem [cached]', config })) {
      chunks.push(c);
    }
    expect(chunks).toHaveLength(6);
    expect(chunks.map((c) => c.text).join('')).toBe('Hello from fake-gemini: 7 words received');
    expect(chunks[5].usageMetadata).toMatchObject({
      promptTokenCount: 7,
      candidatesTokenCount: 6,
      totalTokenCount: 13,
      cachedContentTokenCount: 3,
    });
    expect(fake.requests[0].query).toEqual({ alt: 'sse' });

    const wire = await raw(`/v1beta/models/${model}:streamGenerateContent?alt=sse&key=${fake.apiKey}`, {
      method: 'POST',
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(wire.status).toBe(200);
    expect(wire.text.startsWith('data: {')).toBe(true);
    expect(wire.text.endsWith('}\r\n\r\n')).toBe(true);
    expect(wire.text).not.toContain('[DONE]');
  });

  it('streams a JSON array without alt=sse', async () => {
    const wire = await raw(`/v1beta/models/${model}:streamGenerateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': fake.apiKey },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'one two' }] }] }),
    });
    expect(wire.headers.get('content-type')).toMatch(/^application\/json/);
    const array = JSON.parse(wire.text);
    expect(array).toHaveLength(6);
    expect(array[5].usageMetadata).toMatchObject({ promptTokenCount: 2, candidatesTokenCount: 6 });
  });

  it('answers with a functionCall when tools are given and asked for', async () => {
    const tools = [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: WEATHER_SCHEMA }] }];
    const r = await gg.models.generateContent({ model, contents: 'please use the tool now', config: { tools } });
    expect(r.functionCalls).toEqual([{ name: 'get_weather', args: WEATHER_ARGS }]);
    expect(r.usageMetadata?.candidatesTokenCount).toBe(WEATHER_OUTPUT_TOKENS);
    const calls = [];
    for await (const c of await gg.models.generateContentStream({ model, contents: 'please use the tool now', config: { tools } })) {
      calls.push(...(c.functionCalls ?? []));
    }
    expect(calls).toEqual([{ name: 'get_weather', args: WEATHER_ARGS }]);
  });

  it('refuses a wrong key as Google does', async () => {
    const bad = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: fake.url, fetch } });
    const err = await bad.models.generateContent({ model, contents: 'hi' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.message).toContain('API key not valid');
  });
});

describe('scripted behaviours', () => {
  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('surfaces a scripted 500 through every SDK, then answers normally', async () => {
    fake.script({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const e1 = await oa.chat.completions.create(chat).catch((e) => e);
    const e2 = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages }).catch((e) => e);
    const e3 = await gg.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e) => e);
    expect(e1).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e1.error).toMatchObject({ type: 'server_error' });
    expect(e2).toBeInstanceOf(Anthropic.InternalServerError);
    expect(e2.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(e3).toBeInstanceOf(ApiError);
    expect([e1.status, e2.status, e3.status]).toEqual([500, 500, 500]);
    const ok = await oa.chat.completions.create(chat);
    expect(ok.choices[0].message.content).toContain('fake-openai');
    expect(fake.requests.map((r) => r.behaviour)).toEqual(['status', 'status', 'status', 'ok']);
  });

  it('sends a scripted body and headers as given', async () => {
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    const err = await oa.chat.completions.create(chat).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers.get('retry-after')).toBe('7');
    expect(err.error).toMatchObject({ message: 'slow down', code: 'rate_limit_exceeded' });
  });

  it("makes every SDK's stream fail when the stream is cut, without calling it a client abort", async () => {
    fake.script({ kind: 'cut', afterChunks: 3 }, { kind: 'cut', afterChunks: 3 }, { kind: 'cut', afterChunks: 2 }, { kind: 'cut', afterChunks: 1 });
    const seen: string[] = [];
    const drain = async (it: AsyncIterable<unknown>, name: string) => {
      for await (const _ of it) seen.push(name);
    };
    await expect(drain(await oa.chat.completions.create({ ...chat, stream: true }), 'openai')).rejects.toThrow();
    await expect(drain(await an.messages.create({ model: 'c', max_tokens: 10, messages: chat.messages, stream: true }), 'anthropic')).rejects.toThrow();
    await expect(drain(await gg.models.generateContentStream({ model: 'g', contents: 'hi' }), 'gemini')).rejects.toThrow();
    await expect(oa.chat.completions.create(chat)).rejects.toThrow(); // a JSON body cut in half
    // Whole events sent before the cut still arrive (Anthropic's third one is a ping, which its SDK skips).
    expect(seen).toEqual(['openai', 'openai', 'openai', 'anthropic', 'anthropic', 'gemini', 'gemini']);
    await Promise.all(fake.requests.map((r) => fake.settled(r)));
    expect(fake.requests.map((r) => [r.behaviour, r.aborted])).toEqual(Array(4).fill(['cut', false]));
  });

  it('sends headers (and N whole events) then nothing, holding the connection open until the client leaves', async () => {
    fake.script({ kind: 'headers-then-silence', afterChunks: 2 }, { kind: 'headers-then-silence' });
    const ac = new AbortController();
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': fake.apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, stream: true, messages: chat.messages }),
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^event: message_start\ndata: .*\n\nevent: content_block_start\ndata: .*\n\n$/);
    const next = await Promise.race([reader.read().then(() => 'more'), new Promise((r) => setTimeout(() => r('silence'), 200))]);
    expect(next).toBe('silence');
    ac.abort();
    // A JSON answer: its headers (with the length it promised), and not one byte of the body.
    const ac2 = new AbortController();
    const json = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(chat),
      signal: ac2.signal,
    });
    expect(json.status).toBe(200);
    expect(Number(json.headers.get('content-length'))).toBeGreaterThan(0);
    const body = await Promise.race([json.text(), new Promise((r) => setTimeout(() => r('silence'), 200))]);
    expect(body).toBe('silence');
    ac2.abort();
    await Promise.all(fake.requests.map((r) => fake.settled(r)));
    expect(fake.requests.map((r) => [r.behaviour, r.aborted])).toEqual(Array(2).fill(['headers-then-silence', true]));
  });

  it('records a client that gives up on a hanging request as aborted', async () => {
    fake.script({ kind: 'hang' });
    const ac = new AbortController();
    const pending = oa.chat.completions.create(chat, { signal: ac.signal }).catch((e) => e);
    const [rec] = await fake.waitForRequests(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.status).toBeUndefined();
    ac.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    await fake.settled(rec);
    expect(rec.aborted).toBe(true);
    expect(rec.body).toMatchObject(chat);
  });

  it('streams slowly, and records a client leaving mid-stream as aborted but a finished one not', async () => {
    fake.script({ kind: 'slow', delayMsPerChunk: 40 }, { kind: 'slow', delayMsPerChunk: 40 });
    const arrivals: number[] = [];
    const t0 = Date.now();
    for await (const _ of await oa.chat.completions.create({ ...chat, stream: true })) arrivals.push(Date.now() - t0);
    expect(arrivals.length).toBe(8); // role chunk, 6 words, finish chunk
    expect(arrivals[7] - arrivals[0]).toBeGreaterThanOrEqual(7 * 40 - 20);

    const ac = new AbortController();
    const stream = await oa.chat.completions.create({ ...chat, stream: true }, { signal: ac.signal });
    let n = 0;
    for await (const _ of stream) if (++n === 2) ac.abort();
    await Promise.all(fake.requests.map((r) => fake.settled(r)));
    expect(fake.requests.map((r) => r.aborted)).toEqual([false, true]);
  });

  it('replaces every usage count with the raw JSON it is given, in JSON answers and in SSE events', async () => {
    fake.script({ kind: 'usage', counts: '"12"' }, { kind: 'usage', counts: '1e999' }, { kind: 'usage', counts: '-3' }, { kind: 'usage', counts: '7' });
    const whole = await raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(chat),
    });
    const body = JSON.parse(whole.text);
    expect(body.usage).toMatchObject({ prompt_tokens: '12', completion_tokens: '12', prompt_tokens_details: { cached_tokens: '12' } });
    expect(body.choices[0].message.content).toContain('fake-openai'); // the rest as usual
    const infinite = await an.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages });
    expect(infinite.usage.input_tokens).toBe(Infinity);
    const stream = await oa.chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } });
    const usages: unknown[] = [];
    for await (const c of stream) if (c.usage) usages.push(c.usage);
    expect(usages).toEqual([expect.objectContaining({ prompt_tokens: -3, completion_tokens: -3, total_tokens: -3 })]);
    const gem = await gg.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    expect(gem.usageMetadata).toMatchObject({ promptTokenCount: 7, candidatesTokenCount: 7 });
  });

  it('delays headers when told to, and on every answer with latencyMs', async () => {
    fake.script({ kind: 'delay-headers', ms: 150 });
    let t0 = Date.now();
    await oa.chat.completions.create(chat);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const slow = await startFakeUpstream({ latencyMs: 120, apiKey: 'k', record: false });
    try {
      const client = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: 'k', maxRetries: 0 });
      t0 = Date.now();
      await client.chat.completions.create(chat);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
      expect(slow.requests).toEqual([]);
    } finally {
      await slow.close();
    }
  });
});
