import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import {
  EXACT_LIMIT_CHARS,
  EstimateKind,
  IMAGE_TOKENS,
  estimateInputTokens,
  estimateTokens,
} from '../../../../src/proxy/metering/estimate';

const exact = (s: string) => countTokens(s, { disallowedSpecial: new Set() });

const PROSE =
  'The ledger keeps every credit purchase, hold and debit as an event. Balances are projections of those events. ' +
  'Ein Konto, zwei Schlüssel; un compte, deux clés. 帳簿はイベントの列です。 {"amount": "12.500000", "ok": true} 3.14159 ';
const prose = (chars: number) => PROSE.repeat(Math.ceil(chars / PROSE.length)).slice(0, chars);

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { location: { type: 'string', description: 'City and country' } }, required: ['location'] },
  },
};

describe('estimateTokens', () => {
  it('counts with o200k_base, exactly for short texts', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('hello world')).toBe(2);
    expect(estimateTokens(prose(10_000))).toBe(exact(prose(10_000)));
  });

  it('counts special-token strings in a prompt as text instead of throwing', () => {
    expect(estimateTokens('before <|endoftext|> after <|im_start|>')).toBeGreaterThan(5);
  });

  it('estimates long texts from samples, high but within a quarter of the exact count', () => {
    for (const chars of [EXACT_LIMIT_CHARS + 1, 100_000, 400_000]) {
      const text = prose(chars);
      const n = exact(text);
      const e = estimateTokens(text);
      expect(e).toBeGreaterThanOrEqual(n);
      expect(e).toBeLessThanOrEqual(Math.ceil(n * 1.25));
    }
  });
});

describe('estimateInputTokens', () => {
  it('OpenAI chat: message texts, content parts, names, tool calls and results, plus small overheads', () => {
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, FR"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 14, "sky": "overcast"}' },
    ];
    const text = exact('You are terse.') + exact('What is the weather in Paris?') + exact('get_weather') + exact('{"location":"Paris, FR"}') + exact('{"temp_c": 14, "sky": "overcast"}');
    const n = estimateInputTokens('openai.chat', { model: 'gpt-4o', messages });
    expect(n).toBeGreaterThanOrEqual(text);
    expect(n).toBeLessThanOrEqual(text + 30);

    const withTools = estimateInputTokens('openai.chat', { model: 'gpt-4o', messages, tools: [WEATHER_TOOL] });
    expect(withTools - n).toBeGreaterThanOrEqual(exact(JSON.stringify([WEATHER_TOOL])));
  });

  it('counts an image at a fixed dear rate, never its base64 bytes', () => {
    const dataUrl = `data:image/png;base64,${'iVBORw0KGgo'.repeat(100_000)}`; // ~1.1 MB
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe.' }, { type: 'image_url', image_url: { url: dataUrl, detail: 'high' } }] }] };
    const n = estimateInputTokens('openai.chat', body);
    expect(n).toBeGreaterThanOrEqual(IMAGE_TOKENS);
    expect(n).toBeLessThan(IMAGE_TOKENS + 50);
  });

  it('counts a structured-output schema as input', () => {
    const schema = { name: 'answer', schema: { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' } } } };
    const plain = estimateInputTokens('openai.chat', { messages: [{ role: 'user', content: 'hi' }] });
    const structured = estimateInputTokens('openai.chat', { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: schema } });
    expect(structured - plain).toBeGreaterThanOrEqual(exact(JSON.stringify(schema)));
  });

  it('embeddings and completions: strings tokenized, token arrays counted as given', () => {
    expect(estimateInputTokens('openai.embeddings', { model: 'text-embedding-3-small', input: [[1, 2, 3], [4, 5]] })).toBe(5);
    expect(estimateInputTokens('openai.embeddings', { model: 'text-embedding-3-small', input: [9, 9, 9, 9] })).toBe(4);
    expect(estimateInputTokens('openai.embeddings', { input: ['hello world', 'hello world'] })).toBeGreaterThanOrEqual(4);
    expect(estimateInputTokens('openai.embeddings', { input: 'hello world' })).toBe(2);
    expect(estimateInputTokens('openai.completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test', suffix: '.' })).toBeGreaterThanOrEqual(exact('Say this is a test') + 1);
    expect(estimateInputTokens('openai.completions', { prompt: [1, 2, 3] })).toBe(3);
  });

  it('OpenAI responses: instructions, string or item input, function calls and their outputs', () => {
    expect(estimateInputTokens('openai.responses', { model: 'gpt-4.1', instructions: 'Be brief.', input: 'Tell me a joke.' })).toBeGreaterThanOrEqual(
      exact('Be brief.') + exact('Tell me a joke.'),
    );
    const items = [
      { role: 'user', content: [{ type: 'input_text', text: 'Weather in Oslo?' }, { type: 'input_image', image_url: 'https://example.com/a.png' }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"temp_c": -3}' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'It is cold.' }] },
    ];
    const n = estimateInputTokens('openai.responses', { model: 'gpt-4.1', input: items });
    const text = exact('Weather in Oslo?') + exact('get_weather') + exact('{"city":"Oslo"}') + exact('{"temp_c": -3}') + exact('It is cold.');
    expect(n).toBeGreaterThanOrEqual(text + IMAGE_TOKENS);
    expect(n).toBeLessThanOrEqual(text + IMAGE_TOKENS + 40);
  });

  it('Anthropic: system blocks, tool use and results, text documents, with the tool prompt and tokenizer slack', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: [{ type: 'text', text: 'You answer from the document.', cache_control: { type: 'ephemeral' } }],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is green.' } }, { type: 'text', text: 'What colour is the sky?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny, 21 °C' }] }] },
      ],
    };
    const text =
      exact('You answer from the document.') + exact('The sky is green.') + exact('What colour is the sky?') + exact('get_weather') +
      exact('{"location":"Paris"}') + exact('Sunny, 21 °C') + exact(JSON.stringify(body.tools));
    const n = estimateInputTokens('anthropic.messages', body);
    expect(n).toBeGreaterThanOrEqual(Math.ceil((text + 350) * 1.2));
    expect(n).toBeLessThanOrEqual(Math.ceil((text + 450) * 1.3));
    // The same kind of body counted for count_tokens.
    expect(estimateInputTokens('anthropic.count_tokens', body)).toBe(n);
  });

  it('Gemini: system instruction, parts (camelCase or snake_case), function calls and responses, inline images', () => {
    const camel = {
      systemInstruction: { parts: [{ text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'What is in this picture?' }, { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg'.repeat(50_000) } }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { q: 'cat' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { result: 'a cat' } } }] },
      ],
      tools: [{ functionDeclarations: [{ name: 'lookup', parameters: { type: 'OBJECT', properties: { q: { type: 'STRING' } } } }] }],
      generationConfig: { maxOutputTokens: 100 },
    };
    const snake = {
      system_instruction: { parts: [{ text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'What is in this picture?' }, { inline_data: { mime_type: 'image/jpeg', data: '/9j/4AAQSkZJRg'.repeat(50_000) } }] },
        { role: 'model', parts: [{ function_call: { name: 'lookup', args: { q: 'cat' } } }] },
        { role: 'user', parts: [{ function_response: { name: 'lookup', response: { result: 'a cat' } } }] },
      ],
      tools: camel.tools,
    };
    const n = estimateInputTokens('gemini.generate', camel);
    const text = exact('Answer in French.') + exact('What is in this picture?') + exact('lookup') * 2 + exact('{"q":"cat"}') + exact('{"result":"a cat"}');
    expect(n).toBeGreaterThanOrEqual(text + IMAGE_TOKENS);
    expect(n).toBeLessThan(Math.ceil((text + IMAGE_TOKENS + 200) * 1.1));
    expect(estimateInputTokens('gemini.stream', snake)).toBe(n);
  });

  it('sizes inline files by their length, with a floor', () => {
    const pdf = (kb: number) => ({ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'A'.repeat(kb * 1024) } }] }] });
    const small = estimateInputTokens('anthropic.messages', pdf(1));
    const big = estimateInputTokens('anthropic.messages', pdf(4096));
    expect(small).toBeGreaterThanOrEqual(2_500);
    expect(big).toBeGreaterThan(100_000); // 4 MB of base64: a long PDF
  });

  it('counts more for tokenizers other than o200k', () => {
    const body = { messages: [{ role: 'user', content: prose(5_000) }] };
    const openai = estimateInputTokens('openai.chat', body);
    expect(estimateInputTokens('openai.chat', body, 'anthropic')).toBeGreaterThan(openai * 1.2);
    expect(estimateInputTokens('openai.chat', body, 'xai')).toBeGreaterThan(openai);
  });

  it('is a whole number ≥ 0 for any body, however malformed', () => {
    const kinds: EstimateKind[] = ['openai.chat', 'openai.completions', 'openai.embeddings', 'openai.responses', 'anthropic.messages', 'anthropic.count_tokens', 'gemini.generate', 'gemini.stream'];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.anything(), (kind, body) => {
        const n = estimateInputTokens(kind, body);
        expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      }),
    );
    const odd = { messages: [null, 3, { content: { type: 'image' } }, { content: [{ type: 'file', file: { file_id: 'file-1' } }] }], tools: 'x', contents: 'y', input: { a: 1 } };
    for (const kind of kinds) expect(() => estimateInputTokens(kind, odd)).not.toThrow();
  });

  it('handles a 100 KB chat body quickly', () => {
    // Measured on the 2-core dev machine (jest, after warm-up): ~3 ms per call, the text being
    // sampled past EXACT_LIMIT_CHARS; an exact count of the same text takes ~6 ms, and
    // estimateTokens on a 10 MB text ~2 ms.
    const messages = Array.from({ length: 50 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: prose(2_000) }));
    const body = { model: 'gpt-4o', messages };
    expect(JSON.stringify(body).length).toBeGreaterThan(100_000);
    const n = estimateInputTokens('openai.chat', body);
    const full = exact(messages.map((m) => m.content).join('\n'));
    expect(n).toBeGreaterThanOrEqual(full);
    expect(n).toBeLessThanOrEqual(Math.ceil(full * 1.25) + 50 * 4 + 3);
  });
});
