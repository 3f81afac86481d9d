import fc from 'fast-check';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../../src/platform/event-store/canonical';

// Every stored event's hash was computed from this form: a change to it breaks every chain
// already in a log. These golden values were produced by the first implementation.
describe('canonical JSON and the hash chain', () => {
  it('writes keys sorted, no whitespace, bigints as strings, undefined keys left out', () => {
    const value = {
      z: 1,
      a: [3, 'x"y', null, undefined, { b: true, a: 10n }],
      m: { occurredAt: new Date('2026-01-02T03:04:05.678Z'), skip: undefined, 'é\n': 'tab\there' },
      n: -2.5,
      big: -12345678901234567890n,
    };
    expect(canonicalJson(value)).toBe(
      '{"a":[3,"x\\"y",null,null,{"a":"10","b":true}],"big":"-12345678901234567890",' +
        '"m":{"occurredAt":"2026-01-02T03:04:05.678Z","é\\n":"tab\\there"},"n":-2.5,"z":1}',
    );
  });

  it('writes every string, as a value or a key, as JSON.stringify does (plain ASCII skips the call)', () => {
    const edges = ['', 'plain', 'a"b', 'a\\b', '\u0000', '\u001f', ' ', '~', '\u007f', 'é', '\ud800', '\udc00x', '🙂', '</script>', '2026-12-07:v1:AAAA+/==:BB'];
    for (const s of edges) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' })), (s) => {
        expect(canonicalJson(s)).toBe(JSON.stringify(s));
        expect(canonicalJson({ [s]: [s] })).toBe(`{${JSON.stringify(s)}:[${JSON.stringify(s)}]}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not depend on the order keys were added in', () => {
    expect(canonicalJson({ b: { y: 1, x: [2, { q: 1, p: 2 }] }, a: 'A' })).toBe(canonicalJson({ a: 'A', b: { x: [2, { p: 2, q: 1 }], y: 1 } }));
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({ only: undefined })).toBe('{}');
  });

  it('hashes an event to the same value it always has', () => {
    const hash = chainHash(GENESIS_HASH, {
      id: '00000000-0000-5000-8000-000000000001',
      streamId: 'account-a',
      streamVersion: 1n,
      type: 'CreditsPurchased',
      data: { paymentId: 'pi_1', amount: '5000000' },
      metadata: { occurredAt: '2026-01-02T03:04:05.678Z', command: 'PurchaseCredits' },
    });
    expect(hash.toString('hex')).toBe('e7a66e0ae6f75c17d57fbbde6a88629ab3dedbb8429a52ca24f1a94af48a6da8');
  });

  it('refuses what JSON cannot say', () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/cannot canonicalise a function/);
  });
});
