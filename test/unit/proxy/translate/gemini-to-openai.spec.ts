import fc from 'fast-check';
import { GeminiToOpenaiStream, geminiErrorToOpenai, geminiResponseToOpenaiChat } from '../../../../src/proxy/translate/gemini-to-openai';
import { openaiChatToGemini } from '../../../../src/proxy/translate/openai-to-gemini';
import { BLOCKED_PROMPT_STREAM, CUT_STREAM, ERROR_STREAM, TEXT_STREAM, TOOL_RESPONSE, TOOL_STREAM } from './gemini-fixtures';
import { accumulate, chunksOf, translateWire } from './stream-harness';

const ctx = { id: 'chatcmpl-req2', created: 1_760_000_000, model: 'gemini-2.5-flash' };

describe('geminiResponseToOpenaiChat', () => {
  it('turns text and function calls into a chat.completion; thoughts stay out, thinking tokens count as output', () => {
    expect(geminiResponseToOpenaiChat(TOOL_RESPONSE, ctx)).toEqual({
      id: 'chatcmpl-req2',
      object: 'chat.completion',
      created: 1_760_000_000,
      model: 'gemini-2.5-flash',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check.',
            refusal: null,
            tool_calls: [
              {
                id: 'fc-9',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                extra_content: { google: { thought_signature: 'c2ln' } },
              },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 200,
        completion_tokens: 55,
        total_tokens: 255,
        prompt_tokens_details: { cached_tokens: 150 },
        completion_tokens_details: { reasoning_tokens: 40 },
      },
    });
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'stop'],
    ['OTHER', 'stop'],
  ])('maps finishReason %s to %s', (reason, finish) => {
    const resp = { candidates: [{ content: { role: 'model', parts: [{ text: 'x' }] }, finishReason: reason }] };
    expect(geminiResponseToOpenaiChat(resp, ctx).choices[0].finish_reason).toBe(finish);
  });

  it('answers a blocked prompt with content_filter and no content', () => {
    const got = geminiResponseToOpenaiChat({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } }, ctx);
    expect(got.choices[0]).toMatchObject({ message: { content: null }, finish_reason: 'content_filter' });
    expect(got.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 0, total_tokens: 7 });
  });

  it('makes ids for calls Gemini gave none, which the next request does not send back', () => {
    const resp = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }, { functionCall: { name: 'f', args: { a: 1 } } }] }, finishReason: 'STOP' }] };
    const calls = geminiResponseToOpenaiChat(resp, { ...ctx, id: 'chatcmpl-a.b' }).choices[0].message.tool_calls!;
    expect(calls.map((c) => c.id)).toEqual(['tgcall_chatcmpl-a_b_0', 'tgcall_chatcmpl-a_b_1']);
    const next = openaiChatToGemini({
      model: 'gemini-2.5-flash',
      tools: [{ type: 'function', function: { name: 'f' } }],
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: calls },
        { role: 'tool', tool_call_id: calls[0].id, content: 'one' },
        { role: 'tool', tool_call_id: calls[1].id, content: 'two' },
      ],
    });
    expect(JSON.stringify(next.body)).not.toContain('tgcall_');
  });

  it('carries usage through exactly', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat(), (prompt, cand, thoughts, cached, toolUse) => {
        const u = geminiResponseToOpenaiChat(
          { usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: cand, thoughtsTokenCount: thoughts, cachedContentTokenCount: cached, toolUsePromptTokenCount: toolUse } },
          ctx,
        ).usage;
        expect(u).toEqual({
          prompt_tokens: prompt + toolUse,
          completion_tokens: cand + thoughts,
          total_tokens: prompt + toolUse + cand + thoughts,
          prompt_tokens_details: { cached_tokens: cached },
          completion_tokens_details: { reasoning_tokens: thoughts },
        });
      }),
    );
  });
});

describe('GeminiToOpenaiStream', () => {
  it('streams text as OpenAI chunks, however the upstream bytes are cut, with the last usage figures', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(TEXT_STREAM.length), { maxLength: 12 }), (cuts) => {
        const events = translateWire(TEXT_STREAM, new GeminiToOpenaiStream({ ...ctx, includeUsage: true }), cuts);
        expect(events[events.length - 1]).toEqual({ data: '[DONE]' });
        const chunks = chunksOf(events);
        expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
        expect(chunks[chunks.length - 2].choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
        expect(accumulate(chunks)).toEqual({
          role: 'assistant',
          content: 'Hello wörld 🌍',
          finish: 'stop',
          tools: [],
          usage: {
            prompt_tokens: 120,
            completion_tokens: 34,
            total_tokens: 154,
            prompt_tokens_details: { cached_tokens: 100 },
            completion_tokens_details: { reasoning_tokens: 30 },
          },
        });
      }),
      { numRuns: 50 },
    );
  });

  it('streams each function call whole, with its thought signature, and finishes with tool_calls', () => {
    const chunks = chunksOf(translateWire(TOOL_STREAM, new GeminiToOpenaiStream({ ...ctx, includeUsage: false })));
    expect(chunks[2].choices[0].delta).toEqual({
      tool_calls: [
        {
          index: 0,
          id: 'tgcall_chatcmpl-req2_0',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          extra_content: { google: { thought_signature: 'CiQBcsjafE' } },
        },
      ],
    });
    expect(accumulate(chunks)).toMatchObject({
      content: 'Checking. ',
      finish: 'tool_calls',
      tools: [
        { id: 'tgcall_chatcmpl-req2_0', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'tgcall_chatcmpl-req2_1', name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
    });
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('answers a blocked prompt with content_filter and ends normally', () => {
    const t = new GeminiToOpenaiStream({ ...ctx, includeUsage: true });
    const events = translateWire(BLOCKED_PROMPT_STREAM, t);
    expect(events[events.length - 1].data).toBe('[DONE]');
    expect(accumulate(chunksOf(events))).toMatchObject({ content: '', finish: 'content_filter', usage: { prompt_tokens: 9 } });
  });

  it('passes an upstream error on as an OpenAI error, and nothing after it', () => {
    const events = translateWire(ERROR_STREAM, new GeminiToOpenaiStream({ ...ctx, includeUsage: true }));
    expect(JSON.parse(events[events.length - 1].data)).toEqual({
      error: { message: 'The model is overloaded.', type: 'api_error', param: null, code: 'unavailable' },
    });
  });

  it('ends a stream cut short with an error rather than [DONE]', () => {
    const t = new GeminiToOpenaiStream({ ...ctx, includeUsage: true });
    const events = translateWire(CUT_STREAM, t);
    expect(JSON.parse(events[events.length - 1].data).error.code).toBe('upstream_incomplete');
    expect(t.complete).toBe(false);
    expect(t.usage.completion_tokens).toBe(1);
  });
});

describe('geminiErrorToOpenai', () => {
  it.each([
    [400, 'INVALID_ARGUMENT', 'invalid_request_error'],
    [403, 'PERMISSION_DENIED', 'permission_error'],
    [404, 'NOT_FOUND', 'not_found_error'],
    [429, 'RESOURCE_EXHAUSTED', 'rate_limit_error'],
    [500, 'INTERNAL', 'api_error'],
    [503, 'UNAVAILABLE', 'api_error'],
  ])('HTTP %i %s → %s', (status, geminiStatus, type) => {
    const body = { error: { code: status, message: 'why', status: geminiStatus } };
    expect(geminiErrorToOpenai(status, body)).toEqual({ error: { message: 'why', type, param: null, code: geminiStatus.toLowerCase() } });
  });

  it('reads the JSON-array form, bytes, and a body that is not JSON', () => {
    const arr = JSON.stringify([{ error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } }]);
    expect(geminiErrorToOpenai(429, Buffer.from(arr)).error).toMatchObject({ message: 'quota', code: 'resource_exhausted' });
    expect(geminiErrorToOpenai(504, 'upstream timed out').error).toEqual({ message: 'The upstream provider failed (HTTP 504).', type: 'api_error', param: null, code: null });
  });
});
