/**
 * The raw-body pass that refuses deep nesting and duplicate keys (issue 16, items 7 and 8):
 * never a false alarm on JSON that JSON.stringify wrote, any injected duplicate found at any
 * depth (also when the copy is spelled with escapes), and the depth bound exact.
 */
import fc from 'fast-check';
import { MAX_JSON_DEPTH, checkJsonStructure } from '../../../src/proxy/http/json-structure-check';

const check = (text: string) => checkJsonStructure(Buffer.from(text, 'utf8'));

/** Keys and strings full of the characters a byte scanner could trip on. */
const tricky = fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', 'é', '😀', '\n', '\u0000'), maxLength: 8 });
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(tricky, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** Serialises like JSON.stringify, but object number `target` (in writing order) gets one key twice. */
function withDuplicate(v: unknown, target: number, escapeCopy: boolean, filler: unknown): { text: string; objects: number } {
  let seen = 0;
  const write = (x: unknown): string => {
    if (Array.isArray(x)) return `[${x.map(write).join(',')}]`;
    if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? 'null';
    const me = seen++;
    const entries = Object.entries(x as Record<string, unknown>).map(([k, val]) => `${JSON.stringify(k)}:${write(val)}`);
    if (me === target) {
      const keys = Object.keys(x);
      const key = keys.length ? keys[keys.length >> 1] : 'model';
      const units = Array.from({ length: key.length }, (_, i) => `\\u${key.charCodeAt(i).toString(16).padStart(4, '0')}`);
      const spelled = escapeCopy ? `"${units.join('')}"` : JSON.stringify(key);
      if (!keys.length) entries.push(`${JSON.stringify(key)}:${JSON.stringify(filler)}`);
      entries.splice(entries.length ? 1 : 0, 0, `${spelled}:${JSON.stringify(filler)}`);
    }
    return `{${entries.join(',')}}`;
  };
  const text = write(v);
  return { text, objects: seen };
}

describe('checkJsonStructure', () => {
  it('finds nothing wrong in JSON that JSON.stringify wrote (compact or indented)', () => {
    const manyKeys = fc.dictionary(fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '\\', '"'), maxLength: 4 }), value, { minKeys: 10, maxKeys: 60 });
    fc.assert(
      fc.property(fc.oneof(value, manyKeys), fc.boolean(), (v, indent) => {
        const text = JSON.stringify(v, null, indent ? 2 : undefined) ?? 'null';
        expect(check(text)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('finds a key written twice in any object, at any depth, also when the copy is spelled with escapes', () => {
    // Objects with many keys too: past 16 keys the check keeps them in a Set rather than comparing bytes.
    const manyKeys = fc.dictionary(fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '\\'), maxLength: 4 }), fc.integer(), { minKeys: 10, maxKeys: 60 });
    const withObject = fc
      .tuple(value, fc.dictionary(tricky, value, { maxKeys: 3 }), manyKeys)
      .map(([v, o, many]) => ({ wrapper: [v, o, { many }] }));
    fc.assert(
      fc.property(withObject, fc.nat(), fc.boolean(), value, (v, pick, escapeCopy, filler) => {
        const objects = withDuplicate(v, -1, false, null).objects;
        const { text } = withDuplicate(v, pick % objects, escapeCopy, filler);
        expect(() => JSON.parse(text)).not.toThrow(); // JSON.parse takes it: the reason for the check
        expect(check(text)).toMatchObject({ kind: 'duplicate_key' });
      }),
      { numRuns: 2000 },
    );
  });

  it('a body that names "model" twice is refused, with the key it found', () => {
    expect(check('{"model":"gpt-4o-mini","messages":[],"model":"o1"}')).toEqual({ kind: 'duplicate_key', key: 'model' });
    expect(check('{"generationConfig":{"maxOutputTokens":1,"maxOutputTokens":100000}}')).toEqual({ kind: 'duplicate_key', key: 'maxOutputTokens' });
    // The same key in sibling objects is not a duplicate.
    expect(check('{"a":{"model":1},"b":{"model":2},"c":[{"model":3},{"model":4}]}')).toBeNull();
  });

  it('compares keys as JSON.parse reads them: two invalid UTF-8 keys that both decode to U+FFFD are one key', () => {
    const body = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from('":1,"'), Buffer.from([0xfe]), Buffer.from('":2}')]);
    expect(Object.keys(JSON.parse(body.toString('utf8')))).toHaveLength(1);
    expect(checkJsonStructure(body)).toEqual({ kind: 'duplicate_key', key: '\ufffd' });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}, of arrays and of objects`, () => {
    const arrays = (d: number) => '['.repeat(d) + ']'.repeat(d);
    const objects = (d: number) => '{"a":'.repeat(d - 1) + '{}' + '}'.repeat(d - 1);
    expect(check(arrays(MAX_JSON_DEPTH))).toBeNull();
    expect(check(objects(MAX_JSON_DEPTH))).toBeNull();
    expect(check(arrays(MAX_JSON_DEPTH + 1))).toEqual({ kind: 'too_deep', maxDepth: MAX_JSON_DEPTH });
    expect(check(objects(MAX_JSON_DEPTH + 1))).toEqual({ kind: 'too_deep', maxDepth: MAX_JSON_DEPTH });
  });

  it('refuses 100,000 nested arrays inside a message quickly, without throwing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":${deep}}]}`;
    const started = performance.now();
    expect(check(body)).toEqual({ kind: 'too_deep', maxDepth: MAX_JSON_DEPTH });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('never throws on text that is not JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', 'a', '1', ' ') }), (s) => {
        expect(() => check(s)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});
