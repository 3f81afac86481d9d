/**
 * The second, tighter input bound (metering/precise-bound.ts): given a body, a model and the
 * byte bound, which bound a hold may be sized from. Only models whose exact tokenizer ships get
 * one; it is never above the byte bound (so the cheap bound never refuses what it would admit),
 * never below the tokens the text really has, and never given for input the body does not bound.
 */
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { EndpointKind } from '../../../../src/proxy/endpoints';
import { inputTokenBound } from '../../../../src/proxy/metering/input-bound';
import { hasExactTokenizer, preciseInputBound } from '../../../../src/proxy/metering/precise-bound';
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';
import { SHIPPED_PRICE_TABLE } from '../../../../src/proxy/pricing/price-table';

const exact = (s: string) => countTokens(s, { disallowedSpecial: new Set() });
const priced = (model: string): ModelPrice => {
  const p = SHIPPED_PRICE_TABLE.find((m) => m.model === model);
  if (!p) throw new Error(`no ${model} in the shipped table`);
  return p;
};
const MAX = 256 * 1024;

/** Both bounds of a body sent as the SDKs send it. */
function bounds(kind: EndpointKind, body: unknown, model = 'gpt-4o-mini', maxBytes = MAX) {
  const raw = Buffer.byteLength(JSON.stringify(body));
  const price = priced(model);
  return { cheap: inputTokenBound(kind, body, raw, price), precise: preciseInputBound(kind, body, raw, price, price.model, maxBytes) };
}

const chat = (content: unknown, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

describe('which models get a precise bound', () => {
  it('OpenAI models on o200k_base, by their ids; nothing else', () => {
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'gpt-4o-2024-08-06', 'chatgpt-4o-latest', 'gpt-4.1', 'gpt-4.1-nano', 'gpt-5', 'gpt-5-mini', 'o1', 'o3-mini', 'o4-mini']) {
      expect([m, hasExactTokenizer('openai', m)]).toEqual([m, true]);
    }
    // Other encodings (cl100k: GPT-4, GPT-3.5, the embeddings) and look-alikes.
    for (const m of ['gpt-4', 'gpt-4-turbo', 'gpt-3.5-turbo', 'text-embedding-3-small', 'o1x', 'gpt-4oo', 'gpt-40', 'davinci-002']) {
      expect([m, hasExactTokenizer('openai', m)]).toEqual([m, false]);
    }
    // Another provider's model, whatever its name: a count in o200k bounds nothing of its tokenizer.
    for (const provider of ['anthropic', 'gemini', 'xai', 'openai-compatible'] as const) expect(hasExactTokenizer(provider, 'gpt-4o')).toBe(false);
  });

  it('refuses to give one for another provider even when its text is as sparse as can be', () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hello '.repeat(5_000) }] };
    const { cheap, precise } = bounds('anthropic.messages', body, 'claude-haiku-4-5');
    expect(precise).toBeNull();
    expect(cheap).toBeGreaterThan(30_000);
    for (const model of ['gemini-2.5-flash', 'grok-4']) {
      const p = priced(model);
      expect(preciseInputBound('openai.chat', chat('hello '.repeat(100)), 700, p, p.model, MAX)).toBeNull();
    }
  });
});

describe('the precise bound', () => {
  it('sparse text: far below the byte bound, at or above the exact count', () => {
    const text = 'hello '.repeat(10_000);
    const { cheap, precise } = bounds('openai.chat', chat(text));
    expect(precise).not.toBeNull();
    expect(precise!).toBeGreaterThanOrEqual(exact(text));
    expect(precise! * 4).toBeLessThan(cheap);
  });

  it('text dense in tokens: still never above the byte bound', () => {
    // Characters the tokenizer splits finely: close to a token per byte.
    const dense = Array.from({ length: 3_000 }, (_, i) => String.fromCharCode(0x21 + ((i * 7919) % 94))).join('');
    const { cheap, precise } = bounds('openai.chat', chat(dense));
    expect(precise!).toBeLessThanOrEqual(cheap);
    expect(precise!).toBeGreaterThanOrEqual(exact(dense));
  });

  it('tools, names and schemas count: every string in the body, keys included', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city. '.repeat(200), parameters: { type: 'object', properties: { city: { type: 'string', description: 'the city '.repeat(100) } } } } }];
    const body = chat('hi', { tools });
    const { cheap, precise } = bounds('openai.chat', body);
    const everyString = JSON.stringify(body).match(/"(?:[^"\\]|\\.)*"/g)!.map((s) => JSON.parse(s) as string);
    expect(precise!).toBeGreaterThanOrEqual(everyString.reduce((n, s) => n + exact(s), 0));
    expect(precise!).toBeLessThanOrEqual(cheap);
  });

  it('images count at the model\'s image price, and their base64 is not tokenized as text', () => {
    const b64 = 'iVBORw0KGgo'.repeat(20_000);
    const body = chat([{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${b64}` } }]);
    const { cheap, precise } = bounds('openai.chat', body);
    const price = priced('gpt-4o-mini');
    expect(precise!).toBeGreaterThanOrEqual(price.maxImageTokens ?? price.contextWindow);
    expect(precise!).toBeLessThan((price.maxImageTokens ?? price.contextWindow) + 200);
    expect(precise!).toBeLessThanOrEqual(cheap);
    // The same string also sent as text is counted as text: only one occurrence is the image's.
    const small = `data:image/png;base64,${'iVBORw0KGgo'.repeat(1_000)}`;
    const twice = chat([{ type: 'text', text: small }, { type: 'image_url', image_url: { url: small } }]);
    expect(bounds('openai.chat', twice).precise!).toBeGreaterThanOrEqual(exact(small) + (price.maxImageTokens ?? price.contextWindow));
  });

  it('none for input the body does not bound (files, references, server tools), nor past the size limit, nor when turned off', () => {
    expect(bounds('openai.chat', chat([{ type: 'file', file: { file_id: 'f' } }])).precise).toBeNull();
    expect(bounds('openai.responses', { model: 'gpt-4o-mini', input: 'hi', previous_response_id: 'r' }).precise).toBeNull();
    expect(bounds('openai.responses', { model: 'gpt-4o-mini', input: 'hi', tools: [{ type: 'web_search' }] }).precise).toBeNull();
    const big = chat('hello '.repeat(50_000)); // ~300 KB
    expect(bounds('openai.chat', big).precise).toBeNull();
    expect(bounds('openai.chat', big, 'gpt-4o-mini', 1024 * 1024).precise).not.toBeNull();
    expect(bounds('openai.chat', chat('hello'), 'gpt-4o-mini', 0).precise).toBeNull();
  });

  it('a list of prompts (embeddings, legacy completions): each counted, the window once per prompt', () => {
    const inputs = Array.from({ length: 50 }, (_, i) => `document ${i} `.repeat(40));
    const { cheap, precise } = bounds('openai.completions', { model: 'gpt-4o-mini', prompt: inputs });
    expect(precise!).toBeGreaterThanOrEqual(inputs.reduce((n, s) => n + exact(s), 0));
    expect(precise!).toBeLessThanOrEqual(cheap);
  });

  it('hostile shapes (deep nesting, odd types, duplicated keys as JSON allows, special tokens): a bound, at or under the byte bound, never a throw', () => {
    const deepRaw = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${'['.repeat(10_000)}"x"${']'.repeat(10_000)}}]}`;
    const gpt = priced('gpt-4o-mini');
    expect(preciseInputBound('openai.chat', JSON.parse(deepRaw), deepRaw.length, gpt, gpt.model, MAX)).toBeLessThanOrEqual(deepRaw.length + 100);
    const raw = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a","content":"<|endoftext|> hello hello"}]}';
    const parsed = JSON.parse(raw) as unknown;
    const price = priced('gpt-4o-mini');
    const precise = preciseInputBound('openai.chat', parsed, raw.length, price, price.model, MAX)!;
    expect(precise).toBeGreaterThanOrEqual(exact('<|endoftext|> hello hello'));
    expect(precise).toBeLessThanOrEqual(inputTokenBound('openai.chat', parsed, raw.length, price));
    expect(bounds('openai.chat', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [1, true, null, 1e300, { n: -0.5 }] }] }).precise).not.toBeNull();
  });

  it('property: over generated bodies, exact count ≤ precise ≤ byte bound', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('arr'), tie('obj')),
      arr: fc.array(tie('value'), { maxLength: 5 }),
      obj: fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), tie('value'), { maxKeys: 5 }),
    }));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), json.value, (text, extra) => {
        const body = chat(text, { metadata: extra });
        const { cheap, precise } = bounds('openai.chat', body);
        return precise !== null && precise <= cheap && precise >= exact(text);
      }),
      { numRuns: 300 },
    );
  });
});
