import { countTokens } from 'gpt-tokenizer/cjs/encoding/o200k_base';

describe('countO200kTokens', () => {
  it('loads the encoding on the first count, then counts exactly as gpt-tokenizer does, special tokens as text', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../../src/proxy/metering/o200k') as typeof import('../../../../src/proxy/metering/o200k');
      expect(m.o200kLoaded()).toBe(false);
      expect(m.countO200kTokens('hello world')).toBe(2);
      expect(m.o200kLoaded()).toBe(true);
      const text = 'Ein Konto, zwei Schlüssel. 帳簿はイベントの列です。 <|endoftext|>';
      expect(m.countO200kTokens(text)).toBe(countTokens(text, { disallowedSpecial: new Set() }));
    });
  });

  it('keeps nothing of the texts it counted (the merge cache of gpt-tokenizer is off)', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../../src/proxy/metering/o200k') as typeof import('../../../../src/proxy/metering/o200k');
      for (let i = 0; i < 200; i++) m.countO200kTokens(`canary${i}xq zzt${i * 7919}w`);
      // The same module instance the line above loaded (one registry inside isolateModules).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const loaded = require('gpt-tokenizer/cjs/encoding/o200k_base') as { default: { bytePairEncodingCoreProcessor: { mergeCache?: Map<string, unknown> } } };
      expect(loaded.default.bytePairEncodingCoreProcessor.mergeCache?.size ?? 0).toBe(0);
    });
  });
});
