import fc from 'fast-check';
import { COST_DENOMINATOR, TokenUsage, costOf, marginBpsFromPercent, withMargin, worstCaseCost } from '../../../../src/proxy/pricing/cost';
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';

const gpt4o: ModelPrice = {
  model: 'gpt-4o',
  provider: 'openai',
  input: 2_500_000n,
  output: 10_000_000n,
  cachedInput: 1_250_000n,
  cacheWrite: 2_500_000n,
  maxOutputTokens: 16_384,
  contextWindow: 128_000,
};

const usage = (u: Partial<TokenUsage>): TokenUsage => ({ inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0, ...u });

// Rates up to $1000 per million; token counts up to 10M; margins up to 1000%.
const rate = fc.bigInt({ min: 0n, max: 1_000_000_000n });
const rates = fc.record({ input: rate, output: rate, cachedInput: rate, cacheWrite: rate });
const priceArb: fc.Arbitrary<ModelPrice> = fc
  .record({
    base: rates,
    long: fc.option(fc.record({ extra: rates, aboveInputTokens: fc.integer({ min: 0, max: 2_000_000 }) }), { nil: undefined }),
  })
  .map(({ base, long }) => ({
    model: 'm',
    provider: 'openai' as const,
    ...base,
    maxOutputTokens: 100_000,
    contextWindow: 1_000_000,
    ...(long && {
      longContext: {
        aboveInputTokens: long.aboveInputTokens,
        input: base.input + long.extra.input,
        output: base.output + long.extra.output,
        cachedInput: base.cachedInput + long.extra.cachedInput,
        cacheWrite: base.cacheWrite + long.extra.cacheWrite,
      },
    }),
  }));
const tokens = fc.integer({ min: 0, max: 10_000_000 });
const usageArb = fc.record({ inputTokens: tokens, cachedTokens: tokens, cacheWriteTokens: tokens, outputTokens: tokens });
const marginArb = fc.integer({ min: 0, max: 100_000 });

/** The exact cost × 10^10, computed here independently of cost.ts. */
function exactNumerator(p: ModelPrice, u: TokenUsage, marginBps: number): bigint {
  const prompt = u.inputTokens + u.cachedTokens + u.cacheWriteTokens;
  const r = p.longContext && prompt > p.longContext.aboveInputTokens ? p.longContext : p;
  const raw =
    BigInt(u.inputTokens) * r.input + BigInt(u.cachedTokens) * r.cachedInput + BigInt(u.cacheWriteTokens) * r.cacheWrite + BigInt(u.outputTokens) * r.output;
  return raw * BigInt(10_000 + marginBps);
}

describe('costOf', () => {
  it('prices gpt-4o list rates to the µcr', () => {
    // 1000 × $2.50/M + 500 × $10/M = $0.0075 = 7 500 µcr.
    expect(costOf(gpt4o, usage({ inputTokens: 1000, outputTokens: 500 }), 0)).toBe(7_500n);
    // With 7.5%: 8 062.5 µcr, rounded up.
    expect(costOf(gpt4o, usage({ inputTokens: 1000, outputTokens: 500 }), 750)).toBe(8_063n);
    // Cached input at half price: 2000 × $1.25/M = 2 500 µcr.
    expect(costOf(gpt4o, usage({ cachedTokens: 2000 }), 0)).toBe(2_500n);
    expect(costOf(gpt4o, usage({}), 750)).toBe(0n);
  });

  it('rounds up once, over the whole request, not per token class', () => {
    // Each class alone is 0.5 µcr (one token at $0.50/M); rounded per class that would be 2 µcr.
    const half: ModelPrice = { ...gpt4o, input: 500_000n, output: 500_000n };
    expect(costOf(half, usage({ inputTokens: 1, outputTokens: 1 }), 0)).toBe(1n);
    expect(costOf(half, usage({ inputTokens: 1 }), 0)).toBe(1n);
  });

  it('charges every token of a long prompt at the long-context rates', () => {
    const pro: ModelPrice = {
      ...gpt4o,
      input: 1_250_000n,
      output: 10_000_000n,
      longContext: { aboveInputTokens: 200_000, input: 2_500_000n, output: 15_000_000n, cachedInput: 250_000n, cacheWrite: 2_500_000n },
    };
    expect(costOf(pro, usage({ inputTokens: 200_000, outputTokens: 1_000 }), 0)).toBe(250_000n + 10_000n);
    expect(costOf(pro, usage({ inputTokens: 200_000, cachedTokens: 1, outputTokens: 1_000 }), 0)).toBe(500_000n + 1n + 15_000n);
  });

  it('refuses token counts that are not whole numbers ≥ 0, and bad margins', () => {
    expect(() => costOf(gpt4o, usage({ inputTokens: -1 }), 0)).toThrow(expect.objectContaining({ code: 'invalid_usage' }));
    expect(() => costOf(gpt4o, usage({ outputTokens: 1.5 }), 0)).toThrow(expect.objectContaining({ code: 'invalid_usage' }));
    expect(() => costOf(gpt4o, usage({ cachedTokens: NaN }), 0)).toThrow(expect.objectContaining({ code: 'invalid_usage' }));
    expect(() => costOf(gpt4o, usage({}), -1)).toThrow(expect.objectContaining({ code: 'invalid_margin' }));
  });

  it('is never negative, and is the exact cost rounded up exactly once', () => {
    fc.assert(
      fc.property(priceArb, usageArb, marginArb, (p, u, m) => {
        const cost = costOf(p, u, m);
        const numerator = exactNumerator(p, u, m);
        expect(cost >= 0n).toBe(true);
        expect(cost * COST_DENOMINATOR >= numerator).toBe(true);
        expect(cost * COST_DENOMINATOR < numerator + COST_DENOMINATOR).toBe(true);
      }),
    );
  });

  it('never falls when any one token count or the margin grows', () => {
    const field = fc.constantFrom<keyof TokenUsage>('inputTokens', 'cachedTokens', 'cacheWriteTokens', 'outputTokens');
    fc.assert(
      fc.property(priceArb, usageArb, marginArb, field, fc.integer({ min: 1, max: 1_000_000 }), (p, u, m, f, more) => {
        const before = costOf(p, u, m);
        expect(costOf(p, { ...u, [f]: u[f] + more }, m) >= before).toBe(true);
        expect(costOf(p, u, m + 1) >= before).toBe(true);
      }),
    );
  });
});

describe('worstCaseCost', () => {
  it('holds every input token at the dearest input rate', () => {
    const claude: ModelPrice = { ...gpt4o, input: 3_000_000n, cacheWrite: 3_750_000n, cachedInput: 300_000n, output: 15_000_000n };
    // 1000 × $3.75/M + 100 × $15/M = 3 750 + 1 500 µcr.
    expect(worstCaseCost(claude, 1000, 100, 0)).toBe(5_250n);
  });

  it('is never below the cost of any usage within its input and output bounds', () => {
    const bounded = fc
      .record({ inputTokens: tokens, maxOutput: tokens })
      .chain(({ inputTokens, maxOutput }) =>
        fc.record({
          inputTokens: fc.constant(inputTokens),
          maxOutput: fc.constant(maxOutput),
          // Split at most inputTokens prompt tokens among the three input classes.
          split: fc.tuple(fc.integer({ min: 0, max: inputTokens }), fc.integer({ min: 0, max: inputTokens }), fc.integer({ min: 0, max: inputTokens })),
          out: fc.integer({ min: 0, max: maxOutput }),
        }),
      );
    fc.assert(
      fc.property(priceArb, bounded, marginArb, (p, b, m) => {
        const [a, c] = [Math.min(b.split[0], b.split[1]), Math.max(b.split[0], b.split[1])];
        const u: TokenUsage = { inputTokens: a, cachedTokens: c - a, cacheWriteTokens: Math.min(b.split[2], b.inputTokens - c), outputTokens: b.out };
        expect(u.inputTokens + u.cachedTokens + u.cacheWriteTokens <= b.inputTokens).toBe(true);
        expect(worstCaseCost(p, b.inputTokens, b.maxOutput, m) >= costOf(p, u, m)).toBe(true);
      }),
    );
  });
});

describe('marginBpsFromPercent', () => {
  it('reads percentages exactly, without floats', () => {
    expect(marginBpsFromPercent('7.5')).toBe(750);
    expect(marginBpsFromPercent('0')).toBe(0);
    expect(marginBpsFromPercent('5')).toBe(500);
    expect(marginBpsFromPercent('12.34')).toBe(1_234);
    expect(marginBpsFromPercent('0.01')).toBe(1);
    expect(marginBpsFromPercent('0.29')).toBe(29); // 0.29 * 100 is 28.999999999999996 in floats
    expect(marginBpsFromPercent('999.99')).toBe(99_999);
  });

  it('refuses anything else', () => {
    for (const bad of ['', '-1', '7.555', '1e2', 'abc', '1000', '.5', '5.']) {
      expect(() => marginBpsFromPercent(bad)).toThrow(expect.objectContaining({ code: 'invalid_margin' }));
    }
  });
});

describe('withMargin', () => {
  it('adds the margin and rounds up to a whole µcr, as the model list quotes rates', () => {
    expect(withMargin(2_500_000n, 750)).toBe(2_687_500n);
    expect(withMargin(1n, 750)).toBe(2n); // 1.075 µcr
    expect(withMargin(10_000n, 1)).toBe(10_001n);
    expect(withMargin(10_001n, 1)).toBe(10_003n); // 10 002.0001 µcr
    expect(withMargin(0n, 5_000)).toBe(0n);
    expect(withMargin(123n, 0)).toBe(123n);
  });

  it('is never below the rate with its exact margin, and less than one µcr above it', () => {
    fc.assert(
      fc.property(rate, marginArb, (r, m) => {
        const exact = r * BigInt(10_000 + m);
        const quoted = withMargin(r, m) * 10_000n;
        expect(quoted >= exact && quoted < exact + 10_000n).toBe(true);
      }),
    );
  });
});
