import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { isSealed, open, seal } from '../../../src/platform/crypto/aes-gcm';

describe('AES-256-GCM seal (nonces cut from a pool of random bytes)', () => {
  it('gives every seal its own nonce, across many refills of the pool, and each value opens to its plaintext', () => {
    const key = randomBytes(32);
    const ivs = new Set<string>();
    const n = 256 * 4 + 7; // four pools and some: the boundaries are crossed
    for (let i = 0; i < n; i++) {
      const plaintext = i % 3 === 0 ? '' : i % 3 === 1 ? `usage-${i}` : `é✓ ${'x'.repeat(i % 50)}`;
      const value = seal(key, plaintext, `aad:${i}`);
      const [, iv, tag, ciphertext] = value.split(':');
      expect(Buffer.from(iv, 'base64')).toHaveLength(12);
      expect(Buffer.from(tag, 'base64')).toHaveLength(16);
      expect(Buffer.from(ciphertext, 'base64')).toHaveLength(Buffer.byteLength(plaintext)); // the whole ciphertext, nothing left in final()
      ivs.add(iv);
      expect(open(key, value, `aad:${i}`)).toBe(plaintext);
    }
    expect(ivs.size).toBe(n);
  });
});

describe('isSealed', () => {
  // The form it replaced: four colon-separated parts, the first the version.
  const reference = (value: string) => {
    const parts = value.split(':');
    return parts.length === 4 && parts[0] === 'v1';
  };

  it('says what splitting on colons said, for any text made of the pieces that matter', () => {
    const piece = fc.constantFrom('v1', 'v2', 'v', '1', ':', '::', 'abc', '', 'v1:', '=', '+/');
    fc.assert(fc.property(fc.array(piece, { maxLength: 9 }).map((p) => p.join('')), (value) => expect(isSealed(value)).toBe(reference(value))), { numRuns: 5000 });
    fc.assert(fc.property(fc.string(), (value) => expect(isSealed(value)).toBe(reference(value))));
  });

  it('takes every sealed value', () => {
    const key = randomBytes(32);
    for (const plaintext of ['', 'x', 'a:b:c:d', 'é✓']) expect(isSealed(seal(key, plaintext, 'aad'))).toBe(true);
  });
});
