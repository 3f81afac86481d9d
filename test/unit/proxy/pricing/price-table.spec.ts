import fc from 'fast-check';
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';
import { SHIPPED_PRICE_TABLE } from '../../../../src/proxy/pricing/price-table';
import {
  PriceTableContent,
  decodePriceTable,
  encodePriceTable,
  normalizeContent,
  priceTableId,
  sameCharges,
} from '../../../../src/proxy/pricing/price-table.events';
import { PriceTableVersion } from '../../../../src/proxy/pricing/price-table-version';

const REQUIRED = [
  'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano',
  'text-embedding-3-small', 'text-embedding-3-large', 'gpt-3.5-turbo-instruct',
  'claude-opus-4-1', 'claude-opus-4', 'claude-sonnet-4-5', 'claude-sonnet-4', 'claude-3-7-sonnet', 'claude-haiku-4-5', 'claude-3-5-haiku',
  'gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.5-flash-lite', 'gemini-2.0-flash',
  'grok-4', 'grok-3', 'grok-3-mini',
];

const content = (models: readonly ModelPrice[], over: Partial<PriceTableContent> = {}): PriceTableContent => ({
  effectiveAt: '2025-11-01T00:00:00.000Z',
  marginBps: 750,
  models: [...models],
  source: 'operator',
  ...over,
});

const byName = (name: string) => SHIPPED_PRICE_TABLE.find((m) => m.model === name)!;

describe('the shipped price table', () => {
  it('lists every model the proxy promises, and passes validation', () => {
    const names = SHIPPED_PRICE_TABLE.map((m) => m.model);
    for (const r of REQUIRED) expect(names).toContain(r);
    expect(() => normalizeContent(content(SHIPPED_PRICE_TABLE))).not.toThrow();
  });

  it('holds list prices as µcr per million tokens', () => {
    expect(byName('gpt-4o')).toMatchObject({ input: 2_500_000n, cachedInput: 1_250_000n, output: 10_000_000n, provider: 'openai' });
    expect(byName('gpt-5-nano')).toMatchObject({ input: 50_000n, cachedInput: 5_000n, output: 400_000n });
    expect(byName('claude-sonnet-4-5')).toMatchObject({ input: 3_000_000n, cacheWrite: 3_750_000n, cachedInput: 300_000n, output: 15_000_000n });
    expect(byName('gemini-2.5-pro').longContext).toMatchObject({ aboveInputTokens: 200_000, input: 2_500_000n, output: 15_000_000n });
    expect(byName('text-embedding-3-small')).toMatchObject({ input: 20_000n, output: 0n, maxOutputTokens: 0, endpoints: ['embeddings'] });
    expect(byName('gpt-3.5-turbo-instruct').endpoints).toEqual(['completions']);
  });

  it('says how many tokens an image can cost on every model (holds count images at it)', () => {
    for (const m of SHIPPED_PRICE_TABLE) expect(m.maxImageTokens! >= 1_000 && m.maxImageTokens! <= m.contextWindow).toBe(true);
    // Claude Sonnet 4 / 4.5 take 1M-token prompts (the long-context rates above 200k): a hold capped at 200k would fall short.
    expect(byName('claude-sonnet-4-5').contextWindow).toBe(1_000_000);
  });

  it('never discounts a cache write or charges a cache read above plain input', () => {
    for (const m of SHIPPED_PRICE_TABLE) {
      expect(m.cacheWrite >= m.input).toBe(true);
      expect(m.cachedInput <= m.input).toBe(true);
      expect(m.maxOutputTokens <= m.contextWindow).toBe(true);
    }
  });
});

describe('price table events', () => {
  it('encode to JSON without bigints and decode to the same table', () => {
    const table = { version: 3, ...content(SHIPPED_PRICE_TABLE) };
    const onDisk = JSON.parse(JSON.stringify(encodePriceTable(table)));
    const back = decodePriceTable(onDisk);
    expect(back.version).toBe(3);
    expect(sameCharges(back, table)).toBe(true);
    expect(back.models.find((m) => m.model === 'gemini-2.5-pro')).toEqual(byName('gemini-2.5-pro'));
  });

  it('round-trip any valid model price', () => {
    const r = fc.bigInt({ min: 0n, max: 10n ** 12n });
    const priceArb = fc.record({
      model: fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/),
      provider: fc.constantFrom('openai' as const, 'anthropic' as const, 'gemini' as const, 'xai' as const, 'openai-compatible' as const),
      input: r,
      output: r,
      cachedInput: r,
      cacheWrite: r,
      maxOutputTokens: fc.integer({ min: 0, max: 1_000_000 }),
      contextWindow: fc.integer({ min: 10_000, max: 10_000_000 }),
      maxImageTokens: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
    }).map(({ maxImageTokens, ...m }) => (maxImageTokens === undefined ? m : { ...m, maxImageTokens }));
    fc.assert(
      fc.property(priceArb, (m) => {
        const t = { version: 1, ...content([m]) };
        expect(decodePriceTable(JSON.parse(JSON.stringify(encodePriceTable(t)))).models).toEqual([m]);
      }),
    );
  });

  it('give the same content the same id, whatever the order of its models', () => {
    const a = content(SHIPPED_PRICE_TABLE);
    const b = content([...SHIPPED_PRICE_TABLE].reverse(), { effectiveAt: '2025-11-01T00:00:00Z' });
    expect(priceTableId(a)).toBe(priceTableId(b));
    expect(priceTableId(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('give a different id for any change of rate, margin, time or source', () => {
    const base = content(SHIPPED_PRICE_TABLE);
    const id = priceTableId(base);
    const bumped = SHIPPED_PRICE_TABLE.map((m) => (m.model === 'gpt-4o' ? { ...m, output: m.output + 1n } : m));
    expect(priceTableId(content(bumped))).not.toBe(id);
    expect(priceTableId({ ...base, marginBps: 751 })).not.toBe(id);
    expect(priceTableId({ ...base, effectiveAt: '2025-11-01T00:00:00.001Z' })).not.toBe(id);
    expect(priceTableId({ ...base, source: 'shipped' })).not.toBe(id);
    const later: PriceTableContent = { ...base, effectiveAt: '2030-01-01T00:00:00Z' };
    expect(sameCharges(base, later)).toBe(true);
    expect(sameCharges(base, { models: bumped, marginBps: 750 })).toBe(false);
  });

  it('refuse invalid tables with a stable code', () => {
    const gpt = byName('gpt-4o');
    const bad = (c: PriceTableContent) => expect(() => normalizeContent(c)).toThrow(expect.objectContaining({ code: 'invalid_price_table' }));
    bad(content([gpt, { ...gpt }]));
    bad(content([gpt, { ...byName('gpt-4o-mini'), aliases: ['gpt-4o'] }]));
    bad(content([{ ...gpt, input: -1n }]));
    bad(content([{ ...gpt, provider: 'mistral' as never }]));
    bad(content([{ ...gpt, endpoints: ['images' as never] }]));
    bad(content([{ ...gpt, model: 'has space' }]));
    bad(content([{ ...gpt, longContext: { aboveInputTokens: 10, input: 1n, output: gpt.output, cachedInput: gpt.cachedInput, cacheWrite: gpt.cacheWrite } }]));
    bad(content([]));
    bad(content([gpt], { effectiveAt: 'yesterday' }));
    for (const maxImageTokens of [0, 1.5, -1, gpt.contextWindow + 1, '1000' as never]) bad(content([{ ...gpt, maxImageTokens }]));
    expect(() => normalizeContent(content([gpt], { marginBps: 7.5 }))).toThrow(expect.objectContaining({ code: 'invalid_margin' }));
    expect(() => decodePriceTable({ ...encodePriceTable({ version: 1, ...content([gpt]) }), version: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_price_table' }),
    );
    const encoded = encodePriceTable({ version: 1, ...content([gpt]) });
    expect(() => decodePriceTable({ ...encoded, models: [{ ...(encoded.models as object[])[0], input: '2.5' }] })).toThrow(
      expect.objectContaining({ code: 'invalid_price_table' }),
    );
  });
});

describe('PriceTableVersion', () => {
  const v = new PriceTableVersion({ version: 7, ...normalizeContent(content(SHIPPED_PRICE_TABLE)) });

  it('finds a model by name, by alias, and by a dated or -latest name of a listed model', () => {
    expect(v.get('gpt-4o')?.model).toBe('gpt-4o');
    expect(v.get('claude-sonnet-4-20250514')?.model).toBe('claude-sonnet-4');
    expect(v.get('claude-opus-4-0')?.model).toBe('claude-opus-4');
    expect(v.get('grok-4-0709')?.model).toBe('grok-4');
    expect(v.get('models/gemini-2.5-flash')?.model).toBe('gemini-2.5-flash');
    expect(v.get('claude-haiku-4-5-20991231')?.model).toBe('claude-haiku-4-5'); // a snapshot the table does not list yet
    expect(v.get('gpt-4.1-mini-2099-01-01')?.model).toBe('gpt-4.1-mini');
    expect(v.get('gemini-2.5-pro-latest')?.model).toBe('gemini-2.5-pro');
  });

  it('prices a snapshot the table lists on its own by its own entry', () => {
    expect(v.get('gpt-4o-2024-05-13')).toMatchObject({ model: 'gpt-4o-2024-05-13', input: 5_000_000n });
  });

  it('knows nothing of models it does not list', () => {
    expect(v.get('gpt-9')).toBeUndefined();
    expect(v.get('gpt-4o-mini-tts')).toBeUndefined();
    expect(v.get('')).toBeUndefined();
  });

  it('says its version, margin and models', () => {
    expect(v.version).toBe(7);
    expect(v.marginBps).toBe(750);
    expect(v.models()).toHaveLength(SHIPPED_PRICE_TABLE.length);
    v.models().pop(); // a copy: the table itself cannot be changed through it
    expect(v.models()).toHaveLength(SHIPPED_PRICE_TABLE.length);
  });
});
