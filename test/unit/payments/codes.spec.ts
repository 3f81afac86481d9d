/** Redemption codes' shape: 80 random bits, readable groups, forgiving normalisation, stable hashes. */
import fc from 'fast-check';
import { codeHash, foldBatch, generateCode, normaliseCode } from '../../../src/payments/codes/domain/codes';

describe('redemption code shape', () => {
  it('generates 16 Crockford base32 characters in groups of four, behind the prefix', () => {
    expect(generateCode('GIFT')).toMatch(/^GIFT(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(generateCode(null)).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    const many = new Set(Array.from({ length: 20_000 }, () => generateCode(null)));
    expect(many.size).toBe(20_000);
  });

  it('normalises case, spaces, dashes and look-alike letters to one hash', () => {
    const code = generateCode('P');
    const hash = codeHash(normaliseCode(code) as string);
    const typed = code.toLowerCase().replace(/-/g, ' ').replace(/1/g, 'l').replace(/0/g, 'o');
    expect(codeHash(normaliseCode(`  ${typed} `) as string)).toBe(hash);
  });

  it('refuses what cannot be a code', () => {
    for (const bad of ['', 'ABC', 'x'.repeat(65), 'ABCD-EFGH-JKMN-PQR!', 'ÄBCD-EFGH-JKMN-PQRS', 'ABCD-EFGH-JKMN-PQRU']) expect(normaliseCode(bad)).toBeNull();
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      const n = normaliseCode(s);
      return n === null || /^[0-9A-Z]{16,24}$/.test(n);
    }));
  });

  it('folds a batch: issued, a code revoked, the batch revoked', () => {
    const at = new Date();
    const state = foldBatch([
      { type: 'CodeBatchIssued', data: { batchId: 'b', amount: '1000000', hashes: ['h1', 'h2'], expiresAt: null, prefix: null }, recordedAt: at },
      { type: 'CodeRevoked', data: { hash: 'h1' }, recordedAt: at },
    ]);
    expect(state).toMatchObject({ amount: 1_000_000n, revoked: false });
    expect([...(state?.revokedHashes ?? [])]).toEqual(['h1']);
    expect(foldBatch([{ type: 'CodeBatchRevoked', data: {}, recordedAt: at }])).toBeNull();
  });
});
