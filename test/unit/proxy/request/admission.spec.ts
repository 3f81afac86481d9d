import { KeyPrincipal } from '../../../../src/keys/application/api-key-authenticator';
import { RequestShape } from '../../../../src/proxy/endpoints';
import { ModelPrice } from '../../../../src/proxy/pricing/model-price';
import { worstCaseCost } from '../../../../src/proxy/pricing/cost';
import { admission, admittedPrice } from '../../../../src/proxy/request/admission';

const price: ModelPrice = {
  model: 'gpt-4o',
  provider: 'openai',
  input: 2_500_000n,
  output: 10_000_000n,
  cachedInput: 1_250_000n,
  cacheWrite: 3_000_000n,
  maxOutputTokens: 16_384,
  contextWindow: 128_000,
};

const principal = (p: Partial<KeyPrincipal> = {}): KeyPrincipal => ({
  keyId: 'k1',
  accountId: 'a1',
  project: 'p',
  name: 'n',
  models: null,
  spendCapMicros: null,
  expiresAt: null,
  rpm: null,
  tpm: null,
  ...p,
});

const shape = (s: Partial<RequestShape> = {}): RequestShape => ({ model: 'gpt-4o', stream: false, maxOutputTokens: null, answers: 1, ...s });
const config = { ACCOUNT_RPM: 3_000, ACCOUNT_TPM: 10_000_000 };

describe('admittedPrice', () => {
  it('is the price of a known model the key may use', () => {
    expect(admittedPrice(principal(), shape(), price)).toBe(price);
    expect(admittedPrice(principal({ models: ['gpt-4o'] }), shape(), price)).toBe(price);
  });

  it.each([
    ['an unknown model', principal(), undefined, 'model_not_found'],
    ['a model outside the key allowlist', principal({ models: ['gpt-4o-mini'] }), price, 'model_not_allowed'],
    ['an unknown model outside the allowlist (not found first)', principal({ models: ['gpt-4o-mini'] }), undefined, 'model_not_found'],
  ])('refuses %s', (_what, p, found, code) => {
    expect(() => admittedPrice(p, shape(), found)).toThrow(expect.objectContaining({ code, status: code === 'model_not_found' ? 404 : 403 }));
  });
});

describe('admission', () => {
  // [what, principal, shape, input bound, billed, margin, tokens counted, output in the worst case]
  const cases: Array<[string, KeyPrincipal, RequestShape, number, boolean, number, number, number]> = [
    ['no output limit: the model maximum', principal(), shape(), 1_000, true, 0, 1_000 + 16_384, 16_384],
    ['its own output limit', principal(), shape({ maxOutputTokens: 100 }), 1_000, true, 750, 1_100, 100],
    ['an output limit above the model maximum is the maximum', principal(), shape({ maxOutputTokens: 1_000_000 }), 10, true, 0, 10 + 16_384, 16_384],
    ['every answer asked for', principal(), shape({ maxOutputTokens: 1_000, answers: 8 }), 50, true, 500, 8_050, 8_000],
    ['no output (embeddings)', principal(), shape({ maxOutputTokens: 0 }), 3_000, true, 0, 3_000, 0],
  ];

  it.each(cases)('counts %s', (_what, p, s, inputTokens, billed, marginBps, tokens, maxOutput) => {
    const a = admission(p, s, price, inputTokens, billed, config, marginBps);
    expect(a.limits).toEqual([
      { label: 'requests per minute for this account', id: 'a:a1:r', unit: 'requests', limit: 3_000, cost: 1 },
      { label: 'tokens per minute for this account', id: 'a:a1:t', unit: 'tokens', limit: 10_000_000, cost: tokens },
    ]);
    expect(a.worstCase).toBe(worstCaseCost(price, inputTokens, maxOutput, marginBps));
  });

  it('adds the key limits when the key has them', () => {
    const a = admission(principal({ rpm: 60, tpm: 5_000 }), shape({ maxOutputTokens: 10 }), price, 90, true, config, 0);
    expect(a.limits).toEqual([
      { label: 'requests per minute for this account', id: 'a:a1:r', unit: 'requests', limit: 3_000, cost: 1 },
      { label: 'tokens per minute for this account', id: 'a:a1:t', unit: 'tokens', limit: 10_000_000, cost: 100 },
      { label: 'requests per minute for this key', id: 'k:k1:r', unit: 'requests', limit: 60, cost: 1 },
      { label: 'tokens per minute for this key', id: 'k:k1:t', unit: 'tokens', limit: 5_000, cost: 100 },
    ]);
    expect(admission(principal({ tpm: 5_000 }), shape(), price, 1, true, config, 0).limits.map((l) => l.id)).toEqual(['a:a1:r', 'a:a1:t', 'k:k1:t']);
  });

  it('sizes the worst case at the dearest input rate, margin included', () => {
    // 1 000 input tokens at the cache-write rate (3 µcr each) + 100 output at 10 µcr, +7.5%.
    expect(admission(principal(), shape({ maxOutputTokens: 100 }), price, 1_000, true, config, 750).worstCase).toBe(4_300n);
  });

  it('reserves nothing for an endpoint that is not billed', () => {
    expect(admission(principal(), shape(), price, 1_000, false, config, 0).worstCase).toBeNull();
  });

  it('does not throw on an output bound past 2^53 tokens: the token limits refuse it', () => {
    const a = admission(principal(), shape({ maxOutputTokens: 16_384, answers: 2 ** 50 }), price, 1_000, true, config, 0);
    expect(a.limits[1].cost).toBeGreaterThan(config.ACCOUNT_TPM);
    expect(a.worstCase).toBe(worstCaseCost(price, 1_000, Number.MAX_SAFE_INTEGER, 0));
  });
});
