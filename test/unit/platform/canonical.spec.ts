import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { canonicalJson, chainHash, GENESIS_HASH, HashedFields } from '../../../src/platform/event-store/canonical';
import { referenceCanonicalJson, referenceChainHash } from '../../support/canonical-reference';

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

  // canonicalJson finds an object's sorted key order once per set of keys (a cache); the
  // reference is the form before it (test/support/canonical-reference.ts), byte for byte.
  describe('is byte-identical to the form every stored hash was computed with', () => {
    // What a call gives, or the error it throws: a generated Date may be invalid, and then the
    // form and its reference must both refuse it, alike.
    const outcome = (f: () => unknown) => {
      try {
        return { value: f() };
      } catch (err) {
        return { threw: (err as Error).message };
      }
    };
    const anything = fc.anything({
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
      key: fc.oneof(fc.constantFrom('a', 'b', 'amount', 'holdId', '__proto__', '0', '10', '2', 'é', 'B', ''), fc.string({ unit: 'binary' })),
    });

    it('over generated values', () => {
      fc.assert(
        fc.property(anything, (v) => {
          expect(outcome(() => canonicalJson(v))).toEqual(outcome(() => referenceCanonicalJson(v)));
        }),
        { numRuns: 3000 },
      );
    });

    it('for one set of keys added in every order, and with keys left undefined', () => {
      const keys = ['holdId', 'amount', 'expiresAt', '1', 'free', 'z', 'A'];
      fc.assert(
        fc.property(fc.shuffledSubarray(keys), fc.array(fc.boolean(), { minLength: keys.length, maxLength: keys.length }), (order, gone) => {
          const obj: Record<string, unknown> = {};
          order.forEach((k, i) => (obj[k] = gone[i] ? undefined : `${k}-value`));
          expect(canonicalJson(obj)).toBe(referenceCanonicalJson(obj));
          expect(canonicalJson({ nested: [obj, { ...obj }] })).toBe(referenceCanonicalJson({ nested: [obj, { ...obj }] }));
        }),
        { numRuns: 2000 },
      );
    });

    it('for keys too long to remember, and past the bound on what is remembered (each then sorted every time)', () => {
      const long = 'k'.repeat(65);
      for (const obj of [{ [long]: 1, a: 2 }, { b: 1, [long + '"é']: { [long]: [long] } }, { a: 2, [long]: 1 }]) {
        expect(canonicalJson(obj)).toBe(referenceCanonicalJson(obj));
      }
      // Key sets that grow one key at a time (each a shape of its own) and many small ones.
      const growing: Record<string, number> = {};
      for (let i = 0; i < 300; i++) {
        growing[`g${(i * 7919) % 300}`] = i;
        expect(canonicalJson(growing)).toBe(referenceCanonicalJson(growing));
      }
      for (let i = 0; i < 6000; i++) {
        const obj = { [`k${i}`]: i, [`j${6000 - i}`]: [i], a: { [`n${i}`]: 1, m: 2 } };
        expect(canonicalJson(obj)).toBe(referenceCanonicalJson(obj));
      }
      const usual = { holdId: 'h', amount: 1n, expiresAt: 'x' };
      expect(canonicalJson(usual)).toBe(referenceCanonicalJson(usual));
    });

    describe('keeps little of what a client sends (an idempotent request\'s body is fingerprinted with it)', () => {
      // A module of its own for each test: what the others remembered does not count here.
      const freshCanonicalJson = async () => {
        let fresh!: typeof canonicalJson;
        await jest.isolateModulesAsync(async () => {
          fresh = (await import('../../../src/platform/event-store/canonical')).canonicalJson;
        });
        return fresh;
      };
      /** Heap kept by `fill`, once V8 has let go of dead property names (over a few collections). */
      const kept = (fill: () => void) => {
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as () => void;
        const collect = () => [1, 2, 3].forEach(() => gc());
        collect();
        const before = process.memoryUsage().heapUsed;
        fill();
        collect();
        return process.memoryUsage().heapUsed - before;
      };

      it('not its long keys', async () => {
        const fresh = await freshCanonicalJson();
        // 40 keys of 1 MiB, each a new shape.
        expect(kept(() => [...Array(40).keys()].forEach((i) => fresh(JSON.parse(`{"${`${i}`.padEnd(1 << 20, 'x')}":${i}}`))))).toBeLessThan(8 << 20);
      });

      it('not more than a bounded number of keys, however many shapes', async () => {
        const fresh = await freshCanonicalJson();
        // Key sets growing one key at a time to 1,000 keys of 60 characters: half a million keys in all.
        const growing: Record<string, number> = {};
        expect(
          kept(() => {
            for (let i = 0; i < 1000; i++) {
              growing[`${i}`.padEnd(60, 'k')] = i;
              fresh(growing);
            }
          }),
        ).toBeLessThan(16 << 20);
      });
    });

    it('hashes generated events to the same value (fields missing too)', () => {
      const field = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
      const event = fc.record({
        id: field(fc.uuid()),
        streamId: field(fc.string({ unit: 'binary' })),
        streamVersion: field(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
        type: field(fc.string()),
        data: field(anything),
        metadata: field(anything),
      });
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), event, (prev, e) => {
          const fields = e as unknown as HashedFields;
          const hex = (f: typeof chainHash) => () => f(Buffer.from(prev), fields).toString('hex');
          expect(outcome(hex(chainHash))).toEqual(outcome(hex(referenceChainHash)));
        }),
        { numRuns: 2000 },
      );
    });
  });

  it('refuses what JSON cannot say', () => {
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/cannot canonicalise a function/);
  });
});
