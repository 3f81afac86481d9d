import fc from 'fast-check';
import {
  AnthropicMessage,
  AnthropicToOpenaiStream,
  anthropicErrorToOpenai,
  anthropicMessageToOpenaiChat,
} from '../../../../src/proxy/translate/anthropic-to-openai';
import { CUT_STREAM, ERROR_STREAM, THINKING_STREAM, TOOL_MESSAGE, TOOL_STREAM } from './anthropic-fixtures';
import { accumulate, chunksOf, translateWire } from './stream-harness';

const ctx = { id: 'chatcmpl-req1', created: 1_760_000_000, model: 'claude-sonnet-4-5' };

describe('anthropicMessageToOpenaiChat', () => {
  it('turns text and tool_use into a chat.completion, with every billed input token in prompt_tokens', () => {
    expect(anthropicMessageToOpenaiChat(TOOL_MESSAGE, ctx)).toEqual({
      id: 'chatcmpl-req1',
      object: 'chat.completion',
      created: 1_760_000_000,
      model: 'claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check.',
            refusal: null,
            tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 1024,
        completion_tokens: 55,
        total_tokens: 1079,
        prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 3 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['model_context_window_exceeded', 'length'],
    ['pause_turn', 'stop'],
  ])('maps stop_reason %s to finish_reason %s', (stop, finish) => {
    const msg: AnthropicMessage = { ...TOOL_MESSAGE, content: [{ type: 'text', text: 'x' }], stop_reason: stop };
    expect(anthropicMessageToOpenaiChat(msg, ctx).choices[0].finish_reason).toBe(finish);
  });

  it('gives null content for a tool call alone, and empty text for an empty answer', () => {
    const toolOnly = anthropicMessageToOpenaiChat({ ...TOOL_MESSAGE, content: [TOOL_MESSAGE.content[2]] }, ctx);
    expect(toolOnly.choices[0].message.content).toBeNull();
    const empty = anthropicMessageToOpenaiChat({ ...TOOL_MESSAGE, content: [], stop_reason: 'end_turn' }, ctx);
    expect(empty.choices[0].message).toEqual({ role: 'assistant', content: '', refusal: null });
  });

  it('carries usage through exactly, null cache figures counting as zero', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.option(fc.nat()), fc.option(fc.nat()), (input, output, write, read) => {
        const u = anthropicMessageToOpenaiChat(
          { ...TOOL_MESSAGE, usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: write, cache_read_input_tokens: read } },
          ctx,
        ).usage;
        expect(u.prompt_tokens).toBe(input + (write ?? 0) + (read ?? 0));
        expect(u.completion_tokens).toBe(output);
        expect(u.total_tokens).toBe(u.prompt_tokens + output);
        expect(u.prompt_tokens_details).toEqual({ cached_tokens: read ?? 0, cache_write_tokens: write ?? 0 });
      }),
    );
  });
});

describe('AnthropicToOpenaiStream', () => {
  it('streams text and tool calls as OpenAI chunks, however the upstream bytes are cut', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(TOOL_STREAM.length), { maxLength: 12 }), (cuts) => {
        const events = translateWire(TOOL_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: true }), cuts);
        expect(events[events.length - 1]).toEqual({ data: '[DONE]' });
        expect(events.every((e) => e.event === undefined)).toBe(true);
        const chunks = chunksOf(events);
        for (const c of chunks) expect(c).toMatchObject({ id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model });
        expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
        expect(accumulate(chunks)).toEqual({
          role: 'assistant',
          content: 'Okay, let me check the weather — ☀️.',
          finish: 'tool_calls',
          usage: {
            prompt_tokens: 2572,
            completion_tokens: 89,
            total_tokens: 2661,
            prompt_tokens_details: { cached_tokens: 2000, cache_write_tokens: 100 },
            completion_tokens_details: { reasoning_tokens: 0 },
          },
          tools: [
            { id: 'toolu_01T1x', name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' },
            { id: 'toolu_02', name: 'get_time', arguments: '{}' },
          ],
        });
      }),
      { numRuns: 50 },
    );
  });

  it('sends the exact chunk sequence OpenAI would: role, deltas, finish on its own chunk, then usage with no choices', () => {
    const chunks = chunksOf(translateWire(TOOL_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: true })));
    const choices = chunks.map((c) => c.choices);
    expect(choices[3][0].delta).toEqual({ tool_calls: [{ index: 0, id: 'toolu_01T1x', type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    expect(choices[4][0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] });
    const finish = chunks[chunks.length - 2];
    expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]);
    expect(chunks[chunks.length - 1].choices).toEqual([]);
    // With include_usage every other chunk says usage: null, as OpenAI's do.
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('without include_usage sends no usage field and no usage chunk, but still reads the usage', () => {
    const t = new AnthropicToOpenaiStream({ ...ctx, includeUsage: false });
    const chunks = chunksOf(translateWire(TOOL_STREAM, t));
    expect(chunks.every((c) => !('usage' in c) && c.choices.length === 1)).toBe(true);
    expect(t.complete).toBe(true);
    expect(t.usage).toMatchObject({ prompt_tokens: 2572, completion_tokens: 89 });
  });

  it('leaves thinking out, maps max_tokens to length, and takes message_delta input figures when present', () => {
    const got = accumulate(chunksOf(translateWire(THINKING_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: true }))));
    expect(got).toMatchObject({ content: 'Hello', finish: 'length', tools: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } });
  });

  it('passes an upstream error event on as an OpenAI error, and nothing after it', () => {
    const events = translateWire(ERROR_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: true }));
    expect(JSON.parse(events[events.length - 1].data)).toEqual({
      error: { message: 'Overloaded', type: 'api_error', param: null, code: 'overloaded_error' },
    });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(accumulate(chunksOf(events.slice(0, -1))).content).toBe('Hel');
  });

  it('ends a stream cut short with an error rather than [DONE]', () => {
    const t = new AnthropicToOpenaiStream({ ...ctx, includeUsage: true });
    const events = translateWire(CUT_STREAM, t);
    expect(JSON.parse(events[events.length - 1].data).error.code).toBe('upstream_incomplete');
    expect(t.complete).toBe(false);
  });

  it('turns an event that is not JSON into an error', () => {
    const t = new AnthropicToOpenaiStream({ ...ctx, includeUsage: false });
    expect(JSON.parse(t.push({ event: 'message_start', data: '{oops' })[0].data).error.code).toBe('upstream_malformed');
    expect(t.end()).toEqual([]);
  });
});

describe('anthropicErrorToOpenai', () => {
  it.each([
    [400, 'invalid_request_error', 'invalid_request_error'],
    [401, 'authentication_error', 'authentication_error'],
    [403, 'permission_error', 'permission_error'],
    [404, 'not_found_error', 'not_found_error'],
    [413, 'request_too_large', 'invalid_request_error'],
    [429, 'rate_limit_error', 'rate_limit_error'],
    [500, 'api_error', 'api_error'],
    [529, 'overloaded_error', 'api_error'],
  ])('HTTP %i %s → type %s, the Anthropic type as code', (status, anthropicType, openaiType) => {
    const body = { type: 'error', error: { type: anthropicType, message: 'why' }, request_id: 'req_1' };
    expect(anthropicErrorToOpenai(status, body)).toEqual({ error: { message: 'why', type: openaiType, param: null, code: anthropicType } });
  });

  it('reads the body as bytes or text too, and survives one that is not JSON', () => {
    const text = JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    expect(anthropicErrorToOpenai(429, Buffer.from(text)).error.message).toBe('slow down');
    expect(anthropicErrorToOpenai(429, text).error.code).toBe('rate_limit_error');
    expect(anthropicErrorToOpenai(502, '<html>bad gateway</html>')).toEqual({
      error: { message: 'The upstream provider failed (HTTP 502).', type: 'api_error', param: null, code: null },
    });
  });
});
