import { TranslationError, translationErrorToOpenai } from '../../../../src/proxy/translate/translation-error';
import { openaiChatToAnthropic } from '../../../../src/proxy/translate/openai-to-anthropic';

const opts = { defaultMaxTokens: 64000 };
const user = (content: unknown) => ({ role: 'user', content });
const base = (extra: Record<string, unknown> = {}) => ({ model: 'claude-sonnet-4-5', messages: [user('Hi')], ...extra });
const weather = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
const call = (id: string, args = '{"city":"Paris"}', name = 'get_weather') => ({ id, type: 'function', function: { name, arguments: args } });

function refusal(body: unknown, o: { defaultMaxTokens: number; anthropicVersion?: string } = opts): TranslationError {
  try {
    openaiChatToAnthropic(body, o);
  } catch (err) {
    if (err instanceof TranslationError) return err;
    throw err;
  }
  throw new Error('expected a TranslationError');
}

describe('openaiChatToAnthropic: what translates', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['a plain chat, max_tokens defaulting to the model maximum', base(), { model: 'claude-sonnet-4-5', max_tokens: 64000, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }],
    ['max_completion_tokens wins over max_tokens', base({ max_tokens: 10, max_completion_tokens: 20 }), { max_tokens: 20 }],
    ['max_tokens alone', base({ max_tokens: 10 }), { max_tokens: 10 }],
    ['temperature, top_p', base({ temperature: 0.2, top_p: 0.9 }), { temperature: 0.2, top_p: 0.9 }],
    ['stop as a string', base({ stop: 'END' }), { stop_sequences: ['END'] }],
    ['stop as an array', base({ stop: ['a', 'b'] }), { stop_sequences: ['a', 'b'] }],
    ['user → metadata.user_id', base({ user: 'u-1' }), { metadata: { user_id: 'u-1' } }],
    ['safety_identifier wins over user', base({ user: 'u-1', safety_identifier: 's-1' }), { metadata: { user_id: 's-1' } }],
    ['stream', base({ stream: true, stream_options: { include_usage: true } }), { stream: true }],
    ['service_tier default → standard_only', base({ service_tier: 'default' }), { service_tier: 'standard_only' }],
    [
      'system and developer messages → system blocks',
      { model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'developer', content: [{ type: 'text', text: 'Use French.' }] }, user('Hi')] },
      { system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Use French.' }] },
    ],
    [
      'tools, tool_choice required, parallel_tool_calls false',
      base({ tools: [weather], tool_choice: 'required', parallel_tool_calls: false }),
      {
        tools: [{ name: 'get_weather', description: 'Weather now', input_schema: weather.function.parameters }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      },
    ],
    ['tool_choice auto', base({ tools: [weather], tool_choice: 'auto' }), { tool_choice: { type: 'auto' } }],
    ['tool_choice none', base({ tools: [weather], tool_choice: 'none' }), { tool_choice: { type: 'none' } }],
    ['a named function', base({ tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }), { tool_choice: { type: 'tool', name: 'get_weather' } }],
    [
      'a tool without parameters gets an empty object schema; strict carries over',
      base({ tools: [{ type: 'function', function: { name: 'now', strict: true } }] }),
      { tools: [{ name: 'now', input_schema: { type: 'object', properties: {} }, strict: true }] },
    ],
    [
      'allowed_tools offers only the allowed subset',
      base({
        tools: [weather, { type: 'function', function: { name: 'now' } }],
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'now' } }] } },
      }),
      { tools: [{ name: 'now', input_schema: { type: 'object', properties: {} } }], tool_choice: { type: 'any' } },
    ],
    [
      'json_schema → output_config.format',
      base({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: {}, additionalProperties: false }, strict: true } } }),
      { output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: {}, additionalProperties: false } } } },
    ],
    [
      'images: data: URL → base64 source, https URL → url source, cache breakpoint → cache_control',
      {
        model: 'm',
        messages: [
          user([
            { type: 'text', text: 'What is this?', prompt_cache_breakpoint: { mode: 'explicit' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
          ]),
        ],
      },
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?', cache_control: { type: 'ephemeral' } },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
            ],
          },
        ],
      },
    ],
    [
      'a tool round trip: tool_use, results merged into one user turn with the next user text',
      {
        model: 'm',
        tools: [weather],
        messages: [
          user('Weather in Paris and Rome?'),
          { role: 'assistant', content: 'Checking.', tool_calls: [call('call_1'), call('call_2', '{"city":"Rome"}')] },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '21C' }] },
          user('Thanks, and Oslo?'),
        ],
      },
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
              { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '21C' }] },
              { type: 'text', text: 'Thanks, and Oslo?' },
            ],
          },
        ],
      },
    ],
    [
      'consecutive user messages merge; blank text and null assistant content are left out',
      { model: 'm', messages: [user('a'), user('  '), user('b'), { role: 'assistant', content: null, tool_calls: [call('c', '')] }, { role: 'tool', tool_call_id: 'c', content: 'ok' }], tools: [weather] },
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'c', name: 'get_weather', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c', content: 'ok' }] },
        ],
      },
    ],
    ['neutral values of unsupported parameters pass', base({ n: 1, logprobs: false, presence_penalty: 0, logit_bias: {}, modalities: ['text'], store: true, metadata: { a: 'b' }, reasoning_effort: 'none' }), { max_tokens: 64000 }],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    const { body } = openaiChatToAnthropic(input, opts);
    expect(body).toMatchObject(expected);
  });

  it('reports stream and include_usage, and leaves out what was not asked', () => {
    expect(openaiChatToAnthropic(base({ stream: true, stream_options: { include_usage: true } }), opts)).toMatchObject({ stream: true, includeUsage: true });
    const plain = openaiChatToAnthropic(base(), opts);
    expect(plain).toMatchObject({ stream: false, includeUsage: false });
    expect(Object.keys(plain.body).sort()).toEqual(['max_tokens', 'messages', 'model']);
  });

  it('does not send tool_choice when the client gave none, unless parallel calls are turned off', () => {
    expect(openaiChatToAnthropic(base({ tools: [weather] }), opts).body.tool_choice).toBeUndefined();
    expect(openaiChatToAnthropic(base({ tools: [weather], parallel_tool_calls: false }), opts).body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
  });
});

describe('openaiChatToAnthropic: what is refused, naming the parameter', () => {
  const cases: Array<[string, unknown, string, 'unsupported_parameter' | 'invalid_request']> = [
    ['n > 1', base({ n: 2 }), 'n', 'unsupported_parameter'],
    ['logprobs', base({ logprobs: true }), 'logprobs', 'unsupported_parameter'],
    ['top_logprobs', base({ top_logprobs: 3 }), 'top_logprobs', 'unsupported_parameter'],
    ['audio output', base({ audio: { voice: 'alloy', format: 'mp3' } }), 'audio', 'unsupported_parameter'],
    ['audio modality', base({ modalities: ['text', 'audio'] }), 'modalities', 'unsupported_parameter'],
    ['seed', base({ seed: 7 }), 'seed', 'unsupported_parameter'],
    ['presence_penalty', base({ presence_penalty: 0.5 }), 'presence_penalty', 'unsupported_parameter'],
    ['frequency_penalty', base({ frequency_penalty: 0.5 }), 'frequency_penalty', 'unsupported_parameter'],
    ['logit_bias', base({ logit_bias: { '50256': -100 } }), 'logit_bias', 'unsupported_parameter'],
    ['json_object', base({ response_format: { type: 'json_object' } }), 'response_format', 'unsupported_parameter'],
    ['reasoning_effort', base({ reasoning_effort: 'high' }), 'reasoning_effort', 'unsupported_parameter'],
    ['temperature above 1', base({ temperature: 1.5 }), 'temperature', 'unsupported_parameter'],
    ['temperature above 2', base({ temperature: 2.5 }), 'temperature', 'invalid_request'],
    ['deprecated functions', base({ functions: [{ name: 'f' }] }), 'functions', 'unsupported_parameter'],
    ['an unknown parameter', base({ top_k: 5 }), 'top_k', 'unsupported_parameter'],
    ['service_tier flex', base({ service_tier: 'flex' }), 'service_tier', 'unsupported_parameter'],
    ['custom tools', base({ tools: [{ type: 'custom', custom: { name: 'x' } }] }), 'tools[0].type', 'unsupported_parameter'],
    ['tool_choice naming an unknown tool', base({ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }), 'tool_choice.function.name', 'invalid_request'],
    ['tool_choice required without tools', base({ tool_choice: 'required' }), 'tool_choice', 'invalid_request'],
    ['stream_options without stream', base({ stream_options: { include_usage: true } }), 'stream_options', 'invalid_request'],
    ['an audio input part', { model: 'm', messages: [user([{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }])] }, 'messages[0].content[0].type', 'unsupported_parameter'],
    ['a file part', { model: 'm', messages: [user([{ type: 'file', file: { file_id: 'f' } }])] }, 'messages[0].content[0].type', 'unsupported_parameter'],
    ['an image type Anthropic lacks', { model: 'm', messages: [user([{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }])] }, 'messages[0].content[0].image_url.url', 'unsupported_parameter'],
    ['a non-base64 data URL', { model: 'm', messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png,abc' } }])] }, 'messages[0].content[0].image_url.url', 'invalid_request'],
    ['a system message mid-conversation', { model: 'm', messages: [user('a'), { role: 'system', content: 'x' }] }, 'messages[1].role', 'unsupported_parameter'],
    ['the function role', { model: 'm', messages: [user('a'), { role: 'function', name: 'f', content: 'x' }] }, 'messages[1].role', 'unsupported_parameter'],
    ['a trailing assistant message (would be a prefill)', { model: 'm', messages: [user('a'), { role: 'assistant', content: 'The answer is' }] }, 'messages[1].role', 'unsupported_parameter'],
    ['a tool result without its call', { model: 'm', messages: [user('a'), { role: 'tool', tool_call_id: 'x', content: 'r' }] }, 'messages[1].tool_call_id', 'invalid_request'],
    ['tool call arguments that are not JSON', { model: 'm', messages: [user('a'), { role: 'assistant', tool_calls: [call('c', '{oops')] }, { role: 'tool', tool_call_id: 'c', content: 'r' }] }, 'messages[1].tool_calls[0].function.arguments', 'invalid_request'],
    ['an unknown message field', { model: 'm', messages: [{ role: 'user', content: 'a', reasoning_content: 'x' }] }, 'messages[0].reasoning_content', 'unsupported_parameter'],
    ['no messages', { model: 'm', messages: [] }, 'messages', 'invalid_request'],
    ['no model', { messages: [user('a')] }, 'model', 'invalid_request'],
    ['max_tokens of 0', base({ max_tokens: 0 }), 'max_tokens', 'invalid_request'],
  ];

  it.each(cases)('%s', (_name, input, param, code) => {
    const err = refusal(input);
    expect({ param: err.param, code: err.code }).toEqual({ param, code });
    expect(err.message.length).toBeGreaterThan(10);
  });

  it('refuses temperature and top_p when the caller will send anthropic-version 2026-10-21, which rejects them', () => {
    const newer = { ...opts, anthropicVersion: '2026-10-21' };
    expect(refusal(base({ temperature: 0.5 }), newer).param).toBe('temperature');
    expect(refusal(base({ top_p: 0.5 }), newer).param).toBe('top_p');
    expect(openaiChatToAnthropic(base(), newer).body.temperature).toBeUndefined();
  });

  it('refuses a body that is not an object', () => {
    expect(refusal('nope').code).toBe('invalid_request');
    expect(refusal(null).param).toBeNull();
  });

  it('becomes an OpenAI 400 error body naming the parameter', () => {
    expect(translationErrorToOpenai(refusal(base({ n: 3 })))).toEqual({
      status: 400,
      body: { error: { message: expect.any(String), type: 'invalid_request_error', param: 'n', code: 'unsupported_parameter' } },
    });
  });
});
