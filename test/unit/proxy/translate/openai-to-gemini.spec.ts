import { TranslationError } from '../../../../src/proxy/translate/translation-error';
import { SKIP_THOUGHT_SIGNATURE, openaiChatToGemini } from '../../../../src/proxy/translate/openai-to-gemini';

const user = (content: unknown) => ({ role: 'user', content });
const base = (extra: Record<string, unknown> = {}) => ({ model: 'gemini-2.5-flash', messages: [user('Hi')], ...extra });
const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const weather = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: schema } };
const call = (id: string, args = '{"city":"Paris"}', extra?: unknown) => ({ id, type: 'function', function: { name: 'get_weather', arguments: args }, ...(extra ? { extra_content: extra } : {}) });

function refusal(body: unknown): TranslationError {
  try {
    openaiChatToGemini(body);
  } catch (err) {
    if (err instanceof TranslationError) return err;
    throw err;
  }
  throw new Error('expected a TranslationError');
}

describe('openaiChatToGemini: what translates', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['a plain chat', base(), { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }],
    [
      'sampling and limits → generationConfig',
      base({ max_completion_tokens: 100, temperature: 1.5, top_p: 0.9, stop: 'END', seed: 3, presence_penalty: 0.5, frequency_penalty: -0.5 }),
      { generationConfig: { maxOutputTokens: 100, temperature: 1.5, topP: 0.9, stopSequences: ['END'], seed: 3, presencePenalty: 0.5, frequencyPenalty: -0.5 } },
    ],
    ['json_object → JSON mime type', base({ response_format: { type: 'json_object' } }), { generationConfig: { responseMimeType: 'application/json' } }],
    [
      'json_schema → JSON mime type and the schema as JSON Schema',
      base({ response_format: { type: 'json_schema', json_schema: { name: 'w', schema, strict: true } } }),
      { generationConfig: { responseMimeType: 'application/json', responseJsonSchema: schema } },
    ],
    [
      'system and developer → systemInstruction',
      { model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'developer', content: 'Use French.' }, user('Hi')] },
      { systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Use French.' }] } },
    ],
    [
      'tools → functionDeclarations with the schema as JSON Schema; tool_choice required → ANY',
      base({ tools: [weather, { type: 'function', function: { name: 'now' } }], tool_choice: 'required' }),
      {
        tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather now', parametersJsonSchema: schema }, { name: 'now' }] }],
        toolConfig: { functionCallingConfig: { mode: 'ANY' } },
      },
    ],
    ['tool_choice auto', base({ tools: [weather], tool_choice: 'auto' }), { toolConfig: { functionCallingConfig: { mode: 'AUTO' } } }],
    ['tool_choice none', base({ tools: [weather], tool_choice: 'none' }), { toolConfig: { functionCallingConfig: { mode: 'NONE' } } }],
    [
      'a named function → ANY limited to it',
      base({ tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }),
      { toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } } },
    ],
    [
      'an image as a data: URL → inlineData',
      { model: 'm', messages: [user([{ type: 'text', text: 'What?' }, { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }])] },
      { contents: [{ role: 'user', parts: [{ text: 'What?' }, { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } }] }] },
    ],
    [
      'a tool round trip: functionCall with its signature, responses by name in one user turn',
      {
        model: 'm',
        tools: [weather],
        messages: [
          user('Paris and Rome?'),
          { role: 'assistant', content: '', tool_calls: [call('abc', '{"city":"Paris"}', { google: { thought_signature: 'c2ln' } }), call('tgcall_chatcmpl-1_1', '{"city":"Rome"}')] },
          { role: 'tool', tool_call_id: 'abc', content: '18C' },
          { role: 'tool', tool_call_id: 'tgcall_chatcmpl-1_1', content: [{ type: 'text', text: '21' }, { type: 'text', text: 'C' }] },
        ],
      },
      {
        contents: [
          { role: 'user', parts: [{ text: 'Paris and Rome?' }] },
          {
            role: 'model',
            parts: [
              { functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: 'abc' }, thoughtSignature: 'c2ln' },
              { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
            ],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { name: 'get_weather', response: { output: '18C' }, id: 'abc' } },
              { functionResponse: { name: 'get_weather', response: { output: '21C' } } },
            ],
          },
        ],
      },
    ],
    [
      'a replayed call without a signature gets the documented skip value',
      { model: 'm', tools: [weather], messages: [user('a'), { role: 'assistant', tool_calls: [call('tgcall_x_0')] }, { role: 'tool', tool_call_id: 'tgcall_x_0', content: 'r' }] },
      { contents: [{ role: 'user' }, { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SKIP_THOUGHT_SIGNATURE }] }, { role: 'user' }] },
    ],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    expect(openaiChatToGemini(input).body).toMatchObject(expected);
  });

  it('sends back ids Gemini issued, never the ones made up for it (exactly)', () => {
    const roundTrip = cases.find(([name]) => name.startsWith('a tool round trip'))!;
    expect(openaiChatToGemini(roundTrip[1]).body.contents).toEqual(roundTrip[2].contents);
  });

  it('returns the model for the URL (without a models/ prefix), stream and include_usage', () => {
    expect(openaiChatToGemini({ ...base(), model: 'models/gemini-2.5-pro', stream: true, stream_options: { include_usage: true } })).toMatchObject({
      model: 'gemini-2.5-pro',
      stream: true,
      includeUsage: true,
    });
  });

  it('sends nothing the client did not ask for; user and cache hints are dropped', () => {
    const t = openaiChatToGemini(base({ user: 'u', prompt_cache_key: 'k', store: false }));
    expect(Object.keys(t.body)).toEqual(['contents']);
    expect(t).toMatchObject({ stream: false, includeUsage: false });
  });

  it('fills maxOutputTokens from the default when asked to', () => {
    expect(openaiChatToGemini(base(), { defaultMaxTokens: 8192 }).body.generationConfig).toEqual({ maxOutputTokens: 8192 });
  });
});

describe('openaiChatToGemini: what is refused, naming the parameter', () => {
  const cases: Array<[string, unknown, string]> = [
    ['n > 1', base({ n: 2 }), 'n'],
    ['logprobs', base({ logprobs: true }), 'logprobs'],
    ['audio', base({ audio: { voice: 'alloy', format: 'wav' } }), 'audio'],
    ['parallel_tool_calls false', base({ tools: [weather], parallel_tool_calls: false }), 'parallel_tool_calls'],
    ['reasoning_effort', base({ reasoning_effort: 'low' }), 'reasoning_effort'],
    ['an image by https URL', { model: 'm', messages: [user([{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }])] }, 'messages[0].content[0].image_url.url'],
    ['a gif image', { model: 'm', messages: [user([{ type: 'image_url', image_url: { url: 'data:image/gif;base64,R0lG' } }])] }, 'messages[0].content[0].image_url.url'],
    ['a trailing assistant message', { model: 'm', messages: [user('a'), { role: 'assistant', content: 'So' }] }, 'messages[1].role'],
    ['an unknown parameter', base({ thinking: { type: 'enabled' } }), 'thinking'],
  ];

  it.each(cases)('%s', (_name, input, param) => {
    const err = refusal(input);
    expect(err.param).toBe(param);
    expect(err.code).toBe('unsupported_parameter');
  });
});
