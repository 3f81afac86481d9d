/** The WebAuthn user handle is a user id's 16 bytes, and only one spelling of them names a user. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { userHandleOf, userIdOfHandle } from '../../../src/auth/passkeys/user-handle';

describe('passkey user handles', () => {
  it('round-trips every uuid through 16 bytes, in lower case', () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const handle = userHandleOf(id);
        expect(handle).toHaveLength(16);
        expect(userIdOfHandle(Buffer.from(handle).toString('base64url'))).toBe(id.toLowerCase());
      }),
    );
  });

  it('refuses what is not a uuid on the way in', () => {
    expect(() => userHandleOf('not-a-uuid')).toThrow(/uuid/);
  });

  it('names nobody for a handle that is not exactly 16 bytes in canonical base64url', () => {
    const good = Buffer.from(userHandleOf(randomUUID())).toString('base64url');
    // The last character carries 2 spare bits: another spelling of the same bytes is refused.
    const lastIndex = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(good[21]);
    const alias = good.slice(0, 21) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[lastIndex ^ 1];
    for (const handle of [
      '',
      good.slice(0, 21),
      `${good}A`,
      alias,
      good.replace(/.$/, '='),
      Buffer.from(randomUUID()).toString('base64url'), // the uuid's text, 36 bytes
      'a'.repeat(10_000),
    ]) {
      expect(userIdOfHandle(handle)).toBeNull();
    }
  });
});
