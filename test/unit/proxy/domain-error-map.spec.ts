import { KeyAuthError } from '../../../src/keys/domain/key.errors';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { PricingError } from '../../../src/proxy/pricing/pricing.errors';
import { MAPPED_DOMAIN_CODES, proxyErrorFor } from '../../../src/proxy/http/domain-error-map';
import { ProxyError } from '../../../src/proxy/http/proxy-error';
import { TranslationError } from '../../../src/proxy/translate/translation-error';
import { ChannelError } from '../../../src/proxy/channels/channel';
import { DomainError } from '../../../src/shared/domain-error';

class AnyCode extends DomainError<string, Record<string, unknown>> {
  override readonly name = 'AnyCode';
}

const answer = (err: unknown) => {
  const e = proxyErrorFor(err);
  return e && { status: e.status, code: e.code, message: e.message, ...e.extra };
};

describe('the proxy mapper from domain errors', () => {
  it('maps every code it lists to a ProxyError with an HTTP status', () => {
    expect(MAPPED_DOMAIN_CODES.length).toBeGreaterThan(0);
    for (const code of MAPPED_DOMAIN_CODES) {
      const e = proxyErrorFor(new AnyCode(code, 'm', { needed: 1n, available: 0n, param: 'p' }));
      expect(e).toBeInstanceOf(ProxyError);
      expect(e!.status).toBeGreaterThanOrEqual(400);
      expect(e!.status).toBeLessThan(600);
    }
  });

  it('answers a refused key with 401 in its own words', () => {
    expect(answer(new KeyAuthError('invalid_api_key', 'x'))).toEqual({ status: 401, code: 'invalid_api_key', message: 'the API key is not valid' });
    expect(answer(new KeyAuthError('key_revoked', 'x'))).toEqual({ status: 401, code: 'key_revoked', message: 'the API key has been revoked' });
    expect(answer(new KeyAuthError('key_expired', 'x'))).toEqual({ status: 401, code: 'key_expired', message: 'the API key has expired' });
  });

  it('answers a reservation the ledger refused with 402, or 401 for a key with no account', () => {
    const refused = new LedgerError('insufficient_credits', 'x', { needed: 2_500_000n, available: 1_000_000n });
    expect(answer(refused)).toEqual({
      status: 402,
      code: 'insufficient_credits',
      message: 'not enough credits for this request: it may cost up to 2.500000 credits, 1.000000 are available',
    });
    expect(answer(new LedgerError('amount_out_of_range', 'x'))).toEqual({
      status: 402,
      code: 'insufficient_credits',
      message: 'not enough credits for this request: it may cost more than the 1,000,000,000 credits any account can hold',
    });
    expect(answer(new LedgerError('account_not_found', 'x'))).toEqual({ status: 401, code: 'invalid_api_key', message: 'the key belongs to no account' });
  });

  it('answers a refused translation with 400 naming the field', () => {
    expect(answer(new TranslationError('unsupported_parameter', 'n > 1 is not supported', 'n'))).toEqual({
      status: 400,
      code: 'unsupported_parameter',
      message: 'n > 1 is not supported',
      param: 'n',
    });
    expect(answer(new TranslationError('invalid_request', 'bad messages'))).toEqual({ status: 400, code: 'invalid_request', message: 'bad messages', param: null });
  });

  it('answers prices not yet loaded with 503', () => {
    expect(answer(new PricingError('no_price_table', 'x'))).toEqual({
      status: 503,
      code: 'unavailable',
      message: 'the gateway has not loaded its prices yet; try again shortly',
    });
  });

  it('leaves everything else to the caller', () => {
    expect(proxyErrorFor(new LedgerError('hold_not_open', 'x'))).toBeNull();
    expect(proxyErrorFor(new ChannelError('channel_not_found', 'x'))).toBeNull();
    expect(proxyErrorFor(new ProxyError('insufficient_credits', 'as it was'))).toBeNull();
    expect(proxyErrorFor(new Error('boom'))).toBeNull();
    expect(proxyErrorFor(new AnyCode('constructor', 'x'))).toBeNull();
    expect(proxyErrorFor(undefined)).toBeNull();
  });
});
