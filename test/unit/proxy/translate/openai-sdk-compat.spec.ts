/**
 * The chunks and completions we write, read by the official `openai` client as a caller of the
 * gateway would: its types must accept ours, and its stream reader must rebuild the answer.
 * The client's transport (fetch) returns our translated bytes; nothing of ours is replaced.
 */
import OpenAI, { APIError } from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ErrorObject } from 'openai/resources/shared';
import { AnthropicToOpenaiStream, anthropicMessageToOpenaiChat } from '../../../../src/proxy/translate/anthropic-to-openai';
import { GeminiToOpenaiStream, geminiResponseToOpenaiChat } from '../../../../src/proxy/translate/gemini-to-openai';
import type { OpenAIChatCompletion, OpenAIChatCompletionChunk, OpenAIErrorBody } from '../../../../src/proxy/translate/openai-wire';
import * as anthropic from './anthropic-fixtures';
import * as gemini from './gemini-fixtures';
import { sseText, translateWire } from './stream-harness';

// Type-level: each of our shapes must be assignable to the SDK's (tsc fails otherwise).
type Assignable<Target, Source extends Target> = Source;
export type Checks = [
  Assignable<ChatCompletion, OpenAIChatCompletion>,
  Assignable<ChatCompletionChunk, OpenAIChatCompletionChunk>,
  Assignable<ErrorObject, OpenAIErrorBody['error']>,
];

const ctx = { id: 'chatcmpl-sdk', created: 1_760_000_000, model: 'some-model' };

function clientAnswering(body: string, contentType: string, status = 200): OpenAI {
  return new OpenAI({
    apiKey: 'tg-test',
    baseURL: 'http://127.0.0.1:9/v1',
    maxRetries: 0,
    fetch: async () => new Response(body, { status, headers: { 'content-type': contentType } }),
  });
}

const request = { model: 'some-model', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('the official openai client reads what we write', () => {
  it.each([
    ['Anthropic', () => translateWire(anthropic.TOOL_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: true }))],
    ['Gemini', () => translateWire(gemini.TOOL_STREAM, new GeminiToOpenaiStream({ ...ctx, includeUsage: true }))],
  ])('a %s tool-call stream, rebuilt by ChatCompletionStream', async (_provider, events) => {
    const client = clientAnswering(sseText(events()), 'text/event-stream');
    const final = await client.chat.completions.stream({ ...request, stream_options: { include_usage: true } }).finalChatCompletion();
    const choice = final.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.tool_calls?.length).toBe(2);
    for (const call of choice.message.tool_calls ?? []) {
      expect(call.type).toBe('function');
      if (call.type === 'function') expect(() => JSON.parse(call.function.arguments)).not.toThrow();
    }
    expect(final.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('a Gemini text stream, chunk by chunk through create({ stream: true })', async () => {
    const events = translateWire(gemini.TEXT_STREAM, new GeminiToOpenaiStream({ ...ctx, includeUsage: true }));
    const client = clientAnswering(sseText(events), 'text/event-stream');
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let last: ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      last = chunk;
    }
    expect(text).toBe('Hello wörld 🌍');
    expect(last?.usage).toMatchObject({ prompt_tokens: 120, completion_tokens: 34 });
  });

  it('an upstream error inside a stream makes the client throw an APIError', async () => {
    const events = translateWire(anthropic.ERROR_STREAM, new AnthropicToOpenaiStream({ ...ctx, includeUsage: false }));
    const client = clientAnswering(sseText(events), 'text/event-stream');
    const stream = await client.chat.completions.create({ ...request, stream: true });
    const read = async () => {
      for await (const _ of stream) void _;
    };
    await expect(read()).rejects.toBeInstanceOf(APIError);
  });

  it.each([
    ['Anthropic', () => anthropicMessageToOpenaiChat(anthropic.TOOL_MESSAGE, ctx)],
    ['Gemini', () => geminiResponseToOpenaiChat(gemini.TOOL_RESPONSE, ctx)],
  ])('a whole %s answer, through create()', async (_provider, completion) => {
    const client = clientAnswering(JSON.stringify(completion()), 'application/json');
    const got = await client.chat.completions.create(request);
    expect(got.choices[0].message.content).toBe('Let me check.');
    expect(got.choices[0].finish_reason).toBe('tool_calls');
  });
});
