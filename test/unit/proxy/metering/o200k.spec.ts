/**
 * countO200kTokens counts with its own typed-array copy of o200k_base (src/proxy/metering/o200k.ts),
 * read from the vocabulary file gpt-tokenizer ships; gpt-tokenizer's own encoding is the
 * reference it must agree with exactly: the precise hold bound (precise-bound.ts) is only a bound
 * if the count is the provider's.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { countO200kTokens } from '../../../../src/proxy/metering/o200k';

const reference = (text: string) => countTokens(text, { disallowedSpecial: new Set() });

// Pieces that stress the split pattern and the merges: scripts, case runs, contractions, digits,
// whitespace runs and line ends, combining marks, emoji sequences, special tokens, lone surrogates.
const PIECES = [
  'a', 'Z', 'the', ' The', 'HTTPServer', "'s", "'LL", "n't", ' ', '  ', '\t', '\n', '\r\n', '\n\n\n',
  '1', '23', '4567', '3.14', 'é', 'ß', 'Ω', 'ж', 'Жук', 'ا', 'سلام', 'ק', '中', '文字', '日本語', 'ﬁ',
  '\u0301', '\u200b', '😀', '👩‍💻', '🇫🇷', '—', '€', '"', '.', '!!', '/', '\\', '</div>', '{"a":1}',
  '<|endoftext|>', '<|im_start|>', '\ud800', '\udc00', '\ufffd', '\u00a0',
];

describe('countO200kTokens', () => {
  it('loads the encoding on the first count, then counts exactly as gpt-tokenizer does, special tokens as text', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../../src/proxy/metering/o200k') as typeof import('../../../../src/proxy/metering/o200k');
      expect(m.o200kLoaded()).toBe(false);
      expect(m.countO200kTokens('hello world')).toBe(2);
      expect(m.o200kLoaded()).toBe(true);
      const text = 'Ein Konto, zwei Schlüssel. 帳簿はイベントの列です。 <|endoftext|>';
      expect(m.countO200kTokens(text)).toBe(reference(text));
    });
  });

  it("agrees with gpt-tokenizer on gpt-tokenizer's own test texts, line by line and whole", () => {
    const plans = readFileSync(require.resolve('gpt-tokenizer/data/TestPlans.txt'), 'utf8');
    const lines = plans.split('\n');
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter((line) => countO200kTokens(line) !== reference(line))).toEqual([]);
    expect(countO200kTokens(plans)).toBe(reference(plans));
  });

  it('agrees with gpt-tokenizer on generated texts: mixed scripts, whitespace, emoji, special tokens, lone surrogates', () => {
    const mixed = fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(mixed, fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 80 })), (text) => {
        expect(countO200kTokens(text)).toBe(reference(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees on long runs that leave one piece for the merges (a word of 20,000 letters, 5,000 accented ones)', () => {
    for (const text of ['x'.repeat(20_000), 'ab'.repeat(3_000), 'é'.repeat(5_000), ' '.repeat(9_000) + 'a', '😀'.repeat(2_000)]) {
      expect(countO200kTokens(text)).toBe(reference(text));
    }
  });
});
