import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { EndpointKind } from '../../../../src/proxy/endpoints';
import { EXACT_LIMIT_CHARS, estimateInputTokens } from '../../../../src/proxy/metering/estimate';
import { inputTokenBound } from '../../../../src/proxy/metering/input-bound';
import { costOf, worstCaseCost } from '../../../../src/proxy/pricing/cost';
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';
import { SHIPPED_PRICE_TABLE } from '../../../../src/proxy/pricing/price-table';

const exact = (s: string) => countTokens(s, { disallowedSpecial: new Set() });
const gpt4o = SHIPPED_PRICE_TABLE.find((m) => m.model === 'gpt-4o')!;
const KINDS: EndpointKind[] = ['openai.chat', 'openai.completions', 'openai.embeddings', 'openai.responses', 'anthropic.messages', 'anthropic.count_tokens', 'gemini.generate', 'gemini.stream'];

/** The bound of a body sent as JSON.stringify writes it (as the SDKs do). */
const boundOf = (kind: EndpointKind, body: unknown, price: Pick<ModelPrice, 'provider' | 'contextWindow' | 'maxImageTokens'> = gpt4o) =>
  inputTokenBound(kind, body, Buffer.byteLength(JSON.stringify(body)), price);

/** Every string in a value, object keys included: all the text a provider could tokenize. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  }
  return out;
}

/**
 * 200,000 characters whose cheap and dear parts sit where the sampling estimator does and does
 * not look (its 16 windows of 2,048 characters, evenly spaced): `spacesInWindows` puts the
 * word-dense text inside the windows, the other way round outside them.
 */
function adversarial(spacesInWindows: boolean): string {
  const length = 200_000;
  const step = Math.floor((length - 2_048) / 15);
  const inWindow = (i: number) => i % step < 2_048 && Math.floor(i / step) < 16;
  const chars: string[] = [];
  for (let i = 0; i < length; i++) {
    const dense = inWindow(i) === spacesInWindows;
    chars.push(dense ? (i % 2 ? ' ' : String.fromCharCode(97 + ((i * 7) % 26))) : 'a');
  }
  return chars.join('');
}

describe('inputTokenBound', () => {
  it.each([true, false])('is above the real token count of a 200,000-character body built against sampling (dense text in the windows: %s)', (spacesInWindows) => {
    const text = adversarial(spacesInWindows);
    expect(text.length).toBeGreaterThan(EXACT_LIMIT_CHARS);
    const body = { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: text }] };
    const real = exact(text);
    const bound = boundOf('openai.chat', body);
    expect(bound).toBeGreaterThanOrEqual(real);
    expect(bound).toBeLessThanOrEqual(gpt4o.contextWindow);
    // So the hold covers what the provider bills for it, output included.
    const usage = { inputTokens: real, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 10 };
    expect(worstCaseCost(gpt4o, bound, 10, 750)).toBeGreaterThanOrEqual(costOf(gpt4o, usage, 750));
  });

  it('is where the tokenizer estimate fell short (the defect this replaces)', () => {
    const text = adversarial(false);
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: text }] };
    expect(estimateInputTokens('openai.chat', body)).toBeLessThan(exact(text) / 2);
    expect(boundOf('openai.chat', body)).toBeGreaterThanOrEqual(exact(text));
  });

  it('bounds all the text of any body, of any endpoint, whatever its shape, and never passes the context window', () => {
    const text = fc.string({ unit: 'binary', maxLength: 60 });
    const odd = fc.jsonValue({ maxDepth: 4 });
    const part = fc.oneof(
      text,
      fc.record({ type: fc.constantFrom('text', 'input_text', 'output_text', 'tool_result', 'x'), text }),
      fc.record({ parts: fc.array(fc.record({ text })) }), // parts nested in an object
      fc.record({ type: fc.constant('tool_use'), name: text, input: odd }),
      fc.record({ functionCall: fc.record({ name: text, args: odd }) }),
      odd,
    );
    const content = fc.oneof(text, fc.array(part, { maxLength: 4 }), part);
    const role = fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'model'), odd); // a role that is an object, a number…
    const message = fc.oneof(fc.record({ role, content }), fc.record({ role, parts: content }), text, odd);
    const list = fc.oneof(fc.array(message, { maxLength: 5 }), text, message);
    const body = fc.record(
      {
        model: text,
        messages: list,
        contents: list, // Gemini contents as strings, objects, anything
        input: list,
        prompt: fc.oneof(text, fc.array(fc.oneof(text, fc.nat())), odd),
        instructions: text,
        system: content,
        systemInstruction: fc.oneof(content, fc.record({ parts: content })),
        tools: fc.array(fc.oneof(fc.record({ type: fc.constant('function'), function: odd }), fc.record({ name: text, input_schema: odd }), fc.record({ functionDeclarations: odd })), { maxLength: 3 }),
        response_format: odd,
        extra: odd,
      },
      { requiredKeys: [] },
    );
    const huge = { ...gpt4o, contextWindow: 1e12 };
    fc.assert(
      fc.property(fc.constantFrom(...KINDS), body, (kind, b) => {
        const all = exact(strings(b).join('\n'));
        const bound = boundOf(kind, b, huge);
        expect(Number.isSafeInteger(bound)).toBe(true);
        expect(bound).toBeGreaterThanOrEqual(all);
        // Embeddings and legacy completions take a list of prompts, each up to the window.
        const list = kind === 'openai.embeddings' ? b.input : kind === 'openai.completions' ? b.prompt : undefined;
        const prompts = Array.isArray(list) && list.length > 0 && typeof list[0] !== 'number' ? list.length : 1;
        const small = { ...gpt4o, contextWindow: 50 };
        expect(boundOf(kind, b, small)).toBeLessThanOrEqual(50 * prompts);
        expect(boundOf(kind, b, small)).toBe(Math.min(50 * prompts, bound));
      }),
      { numRuns: 500 },
    );
  });

  it('counts each image at the model\'s maximum, never its base64 bytes', () => {
    const data = 'iVBORw0KGgo'.repeat(100_000); // ~1.1 MB
    const images: [EndpointKind, unknown][] = [
      ['openai.chat', { messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe.' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } }] }] }],
      ['openai.responses', { input: [{ role: 'user', content: [{ type: 'input_image', image_url: `data:image/png;base64,${data}` }] }] }],
      ['anthropic.messages', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }] }] }],
      ['gemini.generate', { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data } }] }] }],
      ['gemini.generate', { contents: [{ parts: [{ inline_data: { mime_type: 'image/jpeg', data } }] }] }],
    ];
    for (const [kind, body] of images) {
      const bound = boundOf(kind, body);
      expect(bound).toBeGreaterThanOrEqual(gpt4o.maxImageTokens!);
      expect(bound).toBeLessThan(gpt4o.maxImageTokens! + 200);
    }
    // Two images, two maxima; a price that does not say holds an image at the whole window.
    const two = { messages: [{ role: 'user', content: [1, 2].map(() => ({ type: 'image_url', image_url: { url: 'https://example.com/a.png' } })) }] };
    expect(boundOf('openai.chat', two)).toBeGreaterThanOrEqual(2 * gpt4o.maxImageTokens!);
    expect(boundOf('openai.chat', two, { provider: 'openai', contextWindow: 100_000 })).toBe(100_000);
  });

  it('holds the context window for input the body does not bound: files, PDFs, audio, references, server-side tools', () => {
    const unbounded: [EndpointKind, unknown][] = [
      ['openai.chat', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }],
      ['openai.chat', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'mp3' } }] }] }],
      ['openai.chat', { messages: [{ role: 'user', content: 'hi' }], web_search_options: {} }],
      ['openai.responses', { input: 'hi', previous_response_id: 'resp_1' }],
      ['openai.responses', { input: 'hi', conversation: 'conv_1' }],
      ['openai.responses', { prompt: { id: 'pmpt_1', version: '2' } }],
      ['openai.responses', { input: [{ role: 'user', content: [{ type: 'input_file', file_url: 'https://example.com/a.pdf' }] }] }],
      ['openai.responses', { input: 'hi', tools: [{ type: 'web_search' }] }],
      ['openai.responses', { input: 'hi', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }],
      ['anthropic.messages', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' } }] }] }],
      ['anthropic.messages', { messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }],
      ['anthropic.messages', { messages: [{ role: 'user', content: 'hi' }], mcp_servers: [{ type: 'url', url: 'https://example.com', name: 'x' }] }],
      ['gemini.generate', { contents: [{ parts: [{ fileData: { mimeType: 'video/mp4', fileUri: 'https://example.com/v' } }] }] }],
      ['gemini.generate', { contents: [{ parts: [{ inlineData: { mimeType: 'application/pdf', data: 'JVBERi0x' } }] }] }],
      ['gemini.generate', { contents: 'hi', cachedContent: 'cachedContents/abc' }],
      ['gemini.stream', { contents: 'hi', tools: [{ googleSearch: {} }] }],
    ];
    for (const [kind, body] of unbounded) expect([kind, body, boundOf(kind, body)]).toEqual([kind, body, gpt4o.contextWindow]);
    // A text document and declared functions are text, bounded by their bytes.
    const textDoc = { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is green.' } }] }] };
    expect(boundOf('anthropic.messages', textDoc)).toBeLessThan(200);
    expect(boundOf('gemini.generate', { contents: 'hi', tools: [{ functionDeclarations: [{ name: 'f' }] }] })).toBeLessThan(200);
  });

  it("adds the provider's tool prompt and a built-in tool's definition", () => {
    const body = { messages: [{ role: 'user', content: 'hi' }] };
    const tools = { ...body, tools: [{ name: 'f', input_schema: { type: 'object' } }] };
    const claude = SHIPPED_PRICE_TABLE.find((m) => m.model === 'claude-haiku-4-5')!;
    const plain = boundOf('anthropic.messages', body, claude);
    expect(boundOf('anthropic.messages', tools, claude) - plain).toBeGreaterThanOrEqual(346); // Anthropic's documented tool-use prompt
    const computer = { ...body, tools: [{ type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }] };
    expect(boundOf('anthropic.messages', computer, claude) - plain).toBeGreaterThanOrEqual(346 + 735);
  });

  it('caps a list of prompts (embeddings, legacy completions) at the window once per prompt', () => {
    const embedding = SHIPPED_PRICE_TABLE.find((m) => m.model === 'text-embedding-3-small')!;
    const input = Array.from({ length: 50 }, () => 'word '.repeat(1_500)); // 50 inputs of 7,500 bytes, 75,000 tokens in all
    const bound = boundOf('openai.embeddings', { model: 'text-embedding-3-small', input }, embedding);
    expect(bound).toBeGreaterThanOrEqual(exact(input.join('\n')));
    expect(bound).toBeLessThanOrEqual(50 * embedding.contextWindow);
    expect(boundOf('openai.embeddings', { input: 'x '.repeat(50_000) }, embedding)).toBe(embedding.contextWindow);
    expect(boundOf('openai.embeddings', { input: [1, 2, 3] }, embedding)).toBeLessThan(100);
    const instruct = SHIPPED_PRICE_TABLE.find((m) => m.model === 'gpt-3.5-turbo-instruct')!;
    expect(boundOf('openai.completions', { prompt: ['x '.repeat(10_000), 'y '.repeat(10_000)] }, instruct)).toBe(2 * instruct.contextWindow);
  });

  it('caps at the context window, and reads a 10 MB or deeply nested body in one quick pass', () => {
    const big = { messages: [{ role: 'user', content: 'x '.repeat(5_000_000) }] };
    const t0 = performance.now();
    expect(boundOf('openai.chat', big)).toBe(gpt4o.contextWindow);
    // ~20 ms on the shared dev machine, most of it in Buffer.byteLength of the stringified test body; generous for load.
    expect(performance.now() - t0).toBeLessThan(1_000);
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(() => inputTokenBound('openai.chat', { messages: deep }, 400_010, gpt4o)).not.toThrow();
  });
});
