import fc from 'fast-check';
import { MeterFormat, PENDING_MAX_CHARS, StreamMeter } from '../../../../src/proxy/metering/stream-meter';
import { MeterReader, MeterState } from '../../../../src/proxy/metering/meter-reader';
import { TokenUsage } from '../../../../src/proxy/pricing/cost';
import { Json, isJsonObject } from '../../../../src/proxy/formats/format';
import { ANTHROPIC_METER } from '../../../../src/proxy/formats/anthropic.format';
import { GEMINI_METER } from '../../../../src/proxy/formats/gemini.format';
import { OPENAI_CHAT_METER, OPENAI_RESPONSES_METER } from '../../../../src/proxy/formats/openai.format';
import { SseEvent, SseParser, formatSse } from '../../../../src/proxy/streaming/sse';

/** Events as a provider sends them: JSON data, optionally named. */
const sse = (events: Array<[string | undefined, unknown]>): SseEvent[] =>
  events.map(([event, data]) => ({ ...(event !== undefined && { event }), data: typeof data === 'string' ? data : JSON.stringify(data) }));

/** Pushes the wire bytes through the real SSE parser, cut into the given chunks. */
function meter(format: MeterFormat, events: SseEvent[], cuts: number[] = []): StreamMeter {
  const wire = Buffer.from(events.map(formatSse).join(''));
  const m = new StreamMeter(format);
  const p = new SseParser();
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b), wire.length]) {
    for (const ev of p.push(wire.subarray(at, cut))) m.push(ev);
    at = cut;
  }
  for (const ev of p.end()) m.push(ev);
  return m;
}

const chunk = (choices: unknown[], usage: unknown = null) => ({
  id: 'chatcmpl-AbC1',
  object: 'chat.completion.chunk',
  created: 1_730_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  system_fingerprint: 'fp_0ba0d124f1',
  choices,
  usage,
});
const delta = (d: unknown, finish: string | null = null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finish });

const OPENAI_CHAT = sse([
  [undefined, chunk([delta({ role: 'assistant', content: '', refusal: null })])],
  [undefined, chunk([delta({ content: 'Hello' })])],
  [undefined, chunk([delta({ content: ' world' })])],
  [undefined, chunk([delta({}, 'stop')])],
  [
    undefined,
    chunk([], {
      prompt_tokens: 1212,
      completion_tokens: 2,
      total_tokens: 1214,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    }),
  ],
  [undefined, '[DONE]'],
]);

describe('StreamMeter: OpenAI chat', () => {
  it('reads the final usage chunk and the delivered text', () => {
    expect(meter('openai-chat', OPENAI_CHAT).result()).toEqual({
      usage: { inputTokens: 188, cachedTokens: 1024, cacheWriteTokens: 0, outputTokens: 2 },
      partialUsage: null,
      deliveredText: 'Hello world',
    });
  });

  it('gives no usage for a stream cut before its usage chunk, and keeps what was delivered', () => {
    const r = meter('openai-chat', OPENAI_CHAT.slice(0, 3)).result();
    expect(r.usage).toBeNull();
    expect(r.partialUsage).toBeNull();
    expect(r.deliveredText).toBe('Hello world');
  });

  it('collects tool-call names and argument deltas', () => {
    const events = sse([
      [undefined, chunk([delta({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })])],
      [undefined, chunk([delta({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] })])],
      [undefined, chunk([delta({ tool_calls: [{ index: 0, function: { arguments: ' "Paris"}' } }] })])],
      [undefined, chunk([delta({}, 'tool_calls')])],
    ]);
    expect(meter('openai-chat', events).result().deliveredText).toBe('get_weather{"location": "Paris"}');
  });

  it('takes the last usage of a provider that repeats it on every chunk', () => {
    const u = (completion: number) => ({ prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion });
    const events = sse([
      [undefined, chunk([delta({ content: 'a' })], u(1))],
      [undefined, chunk([delta({ content: 'b' })], u(2))],
    ]);
    const cut = meter('openai-chat', events).result();
    expect(cut.usage).toBeNull(); // nothing finished yet: a lower bound only
    expect(cut.partialUsage).toEqual({ inputTokens: 10, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 2 });
    const done = meter('openai-chat', [...events, ...sse([[undefined, chunk([delta({ content: 'c' }, 'stop')], u(3))]])]).result();
    expect(done.usage).toEqual({ inputTokens: 10, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 3 });
  });

  it('gives the same result however the bytes are chunked', () => {
    const whole = meter('openai-chat', OPENAI_CHAT).result();
    fc.assert(
      fc.property(fc.array(fc.nat(4000), { maxLength: 20 }), (cuts) => {
        expect(meter('openai-chat', OPENAI_CHAT, cuts).result()).toEqual(whole);
      }),
    );
  });
});

describe('StreamMeter: OpenAI completions', () => {
  it('reads text choices and the usage chunk', () => {
    const c = (choices: unknown[], usage: unknown = undefined) => ({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices, ...(usage !== undefined && { usage }) });
    const events = sse([
      [undefined, c([{ text: 'This is', index: 0, logprobs: null, finish_reason: null }])],
      [undefined, c([{ text: ' a test.', index: 0, logprobs: null, finish_reason: 'stop' }])],
      [undefined, c([], { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 })],
      [undefined, '[DONE]'],
    ]);
    expect(meter('openai-completions', events).result()).toEqual({
      usage: { inputTokens: 5, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 5 },
      partialUsage: null,
      deliveredText: 'This is a test.',
    });
  });
});

describe('StreamMeter: OpenAI responses', () => {
  const response = (status: string, usage: unknown) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'gpt-4.1-2025-04-14', output: [], usage });
  const events = sse([
    ['response.created', { type: 'response.created', sequence_number: 0, response: response('in_progress', null) }],
    ['response.in_progress', { type: 'response.in_progress', sequence_number: 1, response: response('in_progress', null) }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] } }],
    ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [] }],
    ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 4, item_id: 'msg_1', output_index: 0, content_index: 0, delta: ' there', logprobs: [] }],
    ['response.output_text.done', { type: 'response.output_text.done', sequence_number: 5, item_id: 'msg_1', output_index: 0, content_index: 0, text: 'Hi there' }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 6, output_index: 1, item: { id: 'fc_1', type: 'function_call', status: 'in_progress', name: 'lookup', call_id: 'call_1', arguments: '' } }],
    ['response.function_call_arguments.delta', { type: 'response.function_call_arguments.delta', sequence_number: 7, item_id: 'fc_1', output_index: 1, delta: '{"q":1}' }],
    ['response.audio.delta', { type: 'response.audio.delta', sequence_number: 8, delta: 'UklGRiQAAABXQVZFZm10IBAAAAABAAEA' }],
    [
      'response.completed',
      {
        type: 'response.completed',
        sequence_number: 9,
        response: response('completed', { input_tokens: 37, input_tokens_details: { cached_tokens: 0 }, output_tokens: 11, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 48 }),
      },
    ],
  ]);

  it('reads response.completed and the text and argument deltas, not audio', () => {
    expect(meter('openai-responses', events).result()).toEqual({
      usage: { inputTokens: 37, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 11 },
      partialUsage: null,
      deliveredText: 'Hi therelookup{"q":1}',
    });
  });

  it('reads an incomplete response (output limit reached) as final too', () => {
    const incomplete = sse([['response.incomplete', { type: 'response.incomplete', sequence_number: 3, response: response('incomplete', { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 16 }, total_tokens: 21 }) }]]);
    expect(meter('openai-responses', incomplete).result().usage).toEqual({ inputTokens: 5, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 16 });
  });

  it('has no usage when cut before the end', () => {
    expect(meter('openai-responses', events.slice(0, 5)).result()).toEqual({ usage: null, partialUsage: null, deliveredText: 'Hi there' });
  });
});

describe('StreamMeter: Anthropic', () => {
  const start = {
    type: 'message_start',
    message: {
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 2000, output_tokens: 1, service_tier: 'standard' },
    },
  };
  const body = sse([
    ['message_start', start],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me see.' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hello' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '!' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} } }],
    ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"location": "Paris"}' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 2 }],
  ]);
  const end = (usage: unknown) => sse([
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage }],
    ['message_stop', { type: 'message_stop' }],
  ]);

  it('joins message_start input with message_delta output (cumulative)', () => {
    const r = meter('anthropic', [...body, ...end({ output_tokens: 89 })]).result();
    expect(r.usage).toEqual({ inputTokens: 25, cachedTokens: 2000, cacheWriteTokens: 0, outputTokens: 89 });
    expect(r.deliveredText).toBe('Let me see.Hello!get_weather{"location": "Paris"}');
  });

  it('keeps the start figures where message_delta repeats them as null, and takes them where it restates them', () => {
    const nulls = { input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 89, server_tool_use: null };
    expect(meter('anthropic', [...body, ...end(nulls)]).result().usage).toEqual({ inputTokens: 25, cachedTokens: 2000, cacheWriteTokens: 0, outputTokens: 89 });
    const restated = { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 2000, output_tokens: 90 };
    expect(meter('anthropic', [...body, ...end(restated)]).result().usage).toEqual({ inputTokens: 25, cachedTokens: 2000, cacheWriteTokens: 0, outputTokens: 90 });
  });

  it('for a cut stream, gives the exact input side as partial usage', () => {
    const r = meter('anthropic', body.slice(0, 8)).result();
    expect(r.usage).toBeNull();
    expect(r.partialUsage).toEqual({ inputTokens: 25, cachedTokens: 2000, cacheWriteTokens: 0, outputTokens: 1 });
    expect(r.deliveredText).toBe('Let me see.Hello');
  });

  it('ignores an error event', () => {
    const error = sse([['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]]);
    expect(meter('anthropic', [...body.slice(0, 1), ...error]).result().usage).toBeNull();
  });
});

describe('StreamMeter: Gemini', () => {
  const c = (parts: unknown[], usageMetadata: unknown, finishReason?: string) => ({
    candidates: [{ content: { parts, role: 'model' }, index: 0, ...(finishReason && { finishReason }) }],
    usageMetadata,
    modelVersion: 'gemini-2.5-flash',
    responseId: 'mGhDaMv1JL-8nsEPqdT4qQ4',
  });
  const events = sse([
    [undefined, c([{ text: 'Thinking about it', thought: true }], { promptTokenCount: 9, totalTokenCount: 40, thoughtsTokenCount: 31, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 9 }] })],
    [undefined, c([{ text: 'Hello' }], { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 41, thoughtsTokenCount: 31 })],
    [undefined, c([{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }], { promptTokenCount: 9, candidatesTokenCount: 12, totalTokenCount: 52, thoughtsTokenCount: 31 }, 'STOP')],
  ]);

  it('reads the usageMetadata of the finishing chunk, thoughts included', () => {
    expect(meter('gemini', events).result()).toEqual({
      usage: { inputTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 43 },
      partialUsage: null,
      deliveredText: 'Thinking about itHelloget_weather{"location":"Paris"}',
    });
  });

  it('for a cut stream, gives what the last chunk said as partial usage', () => {
    const r = meter('gemini', events.slice(0, 2)).result();
    expect(r.usage).toBeNull();
    expect(r.partialUsage).toEqual({ inputTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 32 });
  });
});

describe('StreamMeter: robustness', () => {
  it('passes over data that is not JSON, or not an object, in every format', () => {
    for (const format of ['openai-chat', 'openai-completions', 'openai-responses', 'anthropic', 'gemini'] as const) {
      const m = new StreamMeter(format);
      for (const data of ['', '[DONE]', 'not json', '{"trunc', 'null', '42', '"s"', '[1,2]', '{"choices":"x","usage":5}', '{"candidates":[null,{"content":7}]}']) {
        m.push({ data });
      }
      expect(m.result()).toEqual({ usage: null, partialUsage: null, deliveredText: '' });
    }
  });
});

describe('usage that cannot be a count', () => {
  it('is no usage in a stream: the delivered text is kept for an estimate', () => {
    const broken = sse([
      [undefined, chunk([delta({ content: 'Hello' })])],
      [undefined, chunk([delta({}, 'stop')])],
      [undefined, chunk([], { prompt_tokens: '9', completion_tokens: 2, total_tokens: 11 })],
    ]);
    expect(meter('openai-chat', broken).result()).toEqual({ usage: null, partialUsage: null, deliveredText: 'Hello' });
    const anthropic = sse([
      ['message_start', { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1 } } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi there' } }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: -5 } }],
    ]);
    // The start's input side stays, as for a cut stream; the output is estimated from the text.
    expect(meter('anthropic', anthropic).result()).toEqual({
      usage: null,
      partialUsage: { inputTokens: 12, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 1 },
      deliveredText: 'Hi there',
    });
  });
});

describe('answer(): the text of a whole JSON answer, in each format', () => {
  const text = (format: MeterFormat, answer: unknown) => {
    const m = new StreamMeter(format);
    m.answer(Buffer.from(JSON.stringify(answer)));
    return m.result().deliveredText;
  };

  it('reads the answer text, reasoning and tool calls', () => {
    const chat = {
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Paris.', reasoning_content: 'Think.', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] } },
      ],
    };
    expect(text('openai-chat', chat)).toBe('Paris.Think.f{"a":1}');
    expect(text('openai-completions', { choices: [{ text: 'done' }] })).toBe('done');
    const responses = {
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'S.' }] },
        { type: 'message', content: [{ type: 'output_text', text: 'Hi.' }] },
        { type: 'function_call', name: 'g', arguments: '{}' },
      ],
    };
    expect(text('openai-responses', responses)).toBe('S.Hi.g{}');
    const anthropic = { content: [{ type: 'thinking', thinking: 'T.' }, { type: 'text', text: 'A.' }, { type: 'tool_use', name: 'h', input: { q: 1 } }] };
    expect(text('anthropic', anthropic)).toBe('T.A.h{"q":1}');
    const gemini = { candidates: [{ content: { parts: [{ text: 'G.' }, { functionCall: { name: 'k', args: { x: true } } }] } }] };
    expect(text('gemini', gemini)).toBe('G.k{"x":true}');
    expect(text('gemini', [gemini, gemini])).toBe('G.k{"x":true}G.k{"x":true}'); // the JSON-array stream
  });

  it('ignores what is not JSON', () => {
    const m = new StreamMeter('openai-chat');
    m.answer(Buffer.from('<html>'));
    expect(m.result().deliveredText).toBe('');
  });
});

/**
 * The meter as it was before events were kept unread for their text: every event parsed as it
 * passes, into one state. The same readers; the reference for the property below.
 */
class ParseEveryEvent implements MeterState {
  readonly parts: string[] = [];
  final: TokenUsage | null = null;
  partial: TokenUsage | null = null;
  finished = false;
  start: Json | null = null;
  constructor(private readonly reader: MeterReader) {}
  push(ev: SseEvent): void {
    if (ev.data.length === 0 || ev.data === '[DONE]') return;
    let msg: unknown;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (isJsonObject(msg)) this.reader.event(this, msg);
  }
  result() {
    return { usage: this.final, partialUsage: this.final ? null : this.partial, deliveredText: this.parts.join('') };
  }
}

describe('StreamMeter: events read for their text only when it is asked for (property)', () => {
  const READERS: Record<MeterFormat, MeterReader> = {
    'openai-chat': OPENAI_CHAT_METER,
    'openai-completions': OPENAI_CHAT_METER,
    'openai-responses': OPENAI_RESPONSES_METER,
    anthropic: ANTHROPIC_METER,
    gemini: GEMINI_METER,
  };
  // Text short and long (a few long events pass PENDING_MAX_CHARS), with quotes, backslashes and
  // non-ASCII, which JSON.stringify escapes or not.
  const text = fc.oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom('"usage": {', '\\u0075', 'finish_reason":"stop', '{"usage":{"prompt_tokens":1}}') },
    { weight: 1, arbitrary: fc.string({ minLength: 2000, maxLength: 6000, unit: 'binary-ascii', size: 'max' }) },
  );
  const count = fc.oneof(fc.nat(5000), fc.constantFrom(-1, 1.5, '7', null));
  const openaiUsage = fc.record({ prompt_tokens: count, completion_tokens: count, total_tokens: count }, { requiredKeys: ['prompt_tokens', 'completion_tokens'] });
  const anthropicUsage = fc.record({ input_tokens: count, output_tokens: count, cache_read_input_tokens: count }, { requiredKeys: ['output_tokens'] });
  const geminiUsage = fc.record({ promptTokenCount: count, candidatesTokenCount: count, thoughtsTokenCount: count }, { requiredKeys: ['promptTokenCount'] });
  const finish = fc.constantFrom(null, 'stop', 'length', 'STOP', 'FINISH_REASON_UNSPECIFIED');
  // Events of every format, so each reader also meets what is not its own.
  const object = fc.oneof(
    fc.record({ choices: fc.array(fc.record({ index: fc.nat(2), delta: fc.record({ content: text }, { requiredKeys: [] }), text: text, finish_reason: finish }, { requiredKeys: ['delta', 'finish_reason'] }), { maxLength: 2 }), usage: fc.option(openaiUsage) }, { requiredKeys: ['choices'] }),
    fc.record({ type: fc.constantFrom('response.output_text.delta', 'response.audio.delta', 'response.function_call_arguments.delta'), delta: text }),
    fc.record({ type: fc.constantFrom('response.completed', 'response.incomplete', 'response.created'), response: fc.record({ usage: fc.option(fc.record({ input_tokens: count, output_tokens: count })) }) }),
    fc.record({ type: fc.constant('message_start'), message: fc.record({ usage: fc.option(anthropicUsage) }) }),
    fc.record({ type: fc.constant('content_block_delta'), delta: fc.record({ text: text, partial_json: text }, { requiredKeys: [] }) }),
    fc.record({ type: fc.constant('message_delta'), usage: fc.option(anthropicUsage) }),
    fc.record({ candidates: fc.array(fc.record({ content: fc.record({ parts: fc.array(fc.record({ text }), { maxLength: 2 }) }), finishReason: finish }, { requiredKeys: ['content'] }), { maxLength: 2 }), usageMetadata: fc.option(geminiUsage) }, { requiredKeys: ['candidates'] }),
  );
  // As a provider may write it: compact or indented (`"usage": {` across lines), a key spelled
  // with a \u escape, or data that is not a JSON object at all.
  const data = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(object, fc.constantFrom(undefined, 1, '\t')).map(([o, indent]) => JSON.stringify(o, null, indent)) },
    { weight: 2, arbitrary: object.map((o) => JSON.stringify(o).replace(/"(usage|usageMetadata|finish_reason|finishReason)"/g, (_, k: string) => `"\\u00${k.charCodeAt(0).toString(16)}${k.slice(1)}"`)) },
    { weight: 1, arbitrary: fc.constantFrom('', '[DONE]', 'not json', '{"trunc', 'null', '[1]', '{"usage":{"prompt_tokens":') },
  );

  it('gives exactly the result of parsing every event, in every format, however the stream ends and whenever the result is asked for', () => {
    fc.assert(
      fc.property(fc.constantFrom<MeterFormat>('openai-chat', 'openai-completions', 'openai-responses', 'anthropic', 'gemini'), fc.array(data, { maxLength: 60, size: 'max' }), fc.nat(), (format, stream, askAt) => {
        const m = new StreamMeter(format);
        const ref = new ParseEveryEvent(READERS[format]);
        stream.forEach((d, i) => {
          m.push({ data: d });
          ref.push({ data: d });
          if (i === askAt % stream.length) expect(m.result()).toEqual(ref.result()); // asked mid-stream, then it goes on
          expect(m.finalUsage()).toEqual(ref.final);
        });
        expect(m.finalUsage()).toEqual(ref.final);
        expect(m.result()).toEqual(ref.result());
      }),
      { numRuns: 500 },
    );
  });

  it('reads no event for its text while the text is not asked for and the stream is short', () => {
    const m = new StreamMeter('openai-chat');
    const parse = jest.spyOn(JSON, 'parse');
    try {
      for (const ev of OPENAI_CHAT) m.push(ev);
      // The finish chunk and the usage chunk only.
      expect(parse).toHaveBeenCalledTimes(2);
      expect(m.finalUsage()).not.toBeNull();
    } finally {
      parse.mockRestore();
    }
    expect(m.result().deliveredText).toBe('Hello world');
  });

  it('reads what it kept once the kept data passes PENDING_MAX_CHARS, so a long stream holds no more than that', () => {
    const m = new StreamMeter('openai-chat');
    const piece = 'x'.repeat(1000);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const ev = { data: JSON.stringify(chunk([delta({ content: piece })])) };
      const events = Math.floor(PENDING_MAX_CHARS / ev.data.length) + 1; // the one that passes it
      for (let i = 0; i < events - 1; i++) m.push(ev);
      expect(parse).not.toHaveBeenCalled();
      m.push(ev);
      expect(parse).toHaveBeenCalledTimes(events); // every one read once, and none kept
      m.push(ev);
      expect(parse).toHaveBeenCalledTimes(events);
    } finally {
      parse.mockRestore();
    }
  });
});
