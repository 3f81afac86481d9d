import { serialize } from 'cookie';
import { OAUTH_STATE_COOKIE, PendingSignIn, pendingSignIn, sealPending, stateCookieOptions } from '../../../src/auth/oauth/oauth-state-cookie';
import { OAuthError } from '../../../src/auth/oauth/oauth.errors';
import { SecretBox } from '../../../src/platform/crypto/secret-box';

const box = new SecretBox({ ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
const otherBox = new SecretBox({ ENCRYPTION_KEY: Buffer.alloc(32, 8).toString('base64') });
const now = Date.parse('2026-12-06T12:00:00Z');
const pending: PendingSignIn = { provider: 'google', state: 'state-abc', codeVerifier: 'verifier-xyz', nonce: 'nonce-1', expiresAt: now + 600_000 };

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof OAuthError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected an OAuthError');
};

describe('the OAuth state cookie', () => {
  const sealed = sealPending(box, pending);

  it('is httpOnly, SameSite=Lax, Secure when asked, scoped to /auth/oauth for 10 minutes, and holds nothing readable', () => {
    const set = serialize(OAUTH_STATE_COOKIE, sealed, stateCookieOptions(true));
    expect(set).toMatch(/^tg_oauth=[^;]+; Max-Age=600; Path=\/auth\/oauth; HttpOnly; Secure; SameSite=Lax$/);
    expect(serialize(OAUTH_STATE_COOKIE, sealed, stateCookieOptions(false))).not.toMatch(/Secure/);
    for (const secret of ['state-abc', 'verifier-xyz', 'nonce-1', 'google']) expect(sealed).not.toContain(secret);
  });

  it('gives back the pending sign-in for its own provider and state', () => {
    expect(pendingSignIn(box, sealed, 'google', 'state-abc', now)).toEqual(pending);
  });

  it('refuses a missing, forged, altered, foreign-key, expired, other-provider or mismatched state alike', () => {
    // One bit of the ciphertext flipped, re-encoded: changing a base64 character instead may only
    // touch padding bits, which decode to the same bytes (the value then still opens).
    const parts = sealed.split(':');
    const bytes = Buffer.from(parts[3], 'base64');
    bytes[0] ^= 1;
    const flipped = [...parts.slice(0, 3), bytes.toString('base64')].join(':');
    const cases: [string, string | undefined, string, unknown, number][] = [
      ['no cookie', undefined, 'google', 'state-abc', now],
      ['an empty cookie', '', 'google', 'state-abc', now],
      ['forged plaintext', JSON.stringify(pending), 'google', 'state-abc', now],
      ['altered ciphertext', flipped, 'google', 'state-abc', now],
      ['sealed under another key', sealPending(otherBox, pending), 'google', 'state-abc', now],
      ['sealed for another purpose', box.seal(JSON.stringify(pending), 'channel:x:api_key'), 'google', 'state-abc', now],
      ['expired', sealed, 'google', 'state-abc', pending.expiresAt],
      ['another provider', sealed, 'github', 'state-abc', now],
      ['another state', sealed, 'google', 'state-abd', now],
      ['a state of another length', sealed, 'google', 'state-abc-and-more', now],
      ['no state', sealed, 'google', undefined, now],
      ['a repeated state parameter', sealed, 'google', ['state-abc', 'state-abc'], now],
    ];
    for (const [what, cookie, provider, state, at] of cases) {
      expect([what, refusal(() => pendingSignIn(box, cookie, provider, state, at))]).toEqual([what, expect.stringMatching(/^invalid_state: /)]);
    }
  });

  it('never echoes the cookie or the state in its refusal', () => {
    const message = refusal(() => pendingSignIn(box, sealed, 'google', 'attacker-state', now));
    expect(message).not.toContain('attacker-state');
    expect(message).not.toContain('state-abc');
  });
});
