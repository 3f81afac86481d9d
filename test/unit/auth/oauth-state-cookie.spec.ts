import { parse } from 'cookie';
import { clearedStateCookie, OAUTH_STATE_COOKIE, PendingSignIn, pendingSignIn, stateCookie } from '../../../src/auth/oauth/oauth-state-cookie';
import { OAuthError } from '../../../src/auth/oauth/oauth.errors';
import { SecretBox } from '../../../src/platform/crypto/secret-box';

const box = new SecretBox({ ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
const otherBox = new SecretBox({ ENCRYPTION_KEY: Buffer.alloc(32, 8).toString('base64') });
const now = Date.parse('2026-12-06T12:00:00Z');
const pending: PendingSignIn = { provider: 'google', state: 'state-abc', codeVerifier: 'verifier-xyz', nonce: 'nonce-1', expiresAt: now + 600_000 };

/** The Cookie header a browser would send back for a Set-Cookie value. */
const sentBack = (setCookie: string) => setCookie.split(';')[0];

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
  const set = stateCookie(box, pending, true);

  it('is httpOnly, SameSite=Lax, Secure when asked, scoped to /auth/oauth, 10 minutes, and holds nothing readable', () => {
    expect(set).toMatch(/^tg_oauth=/);
    expect(set).toMatch(/; Max-Age=600/);
    expect(set).toMatch(/; Path=\/auth\/oauth/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(stateCookie(box, pending, false)).not.toMatch(/Secure/);
    for (const secret of ['state-abc', 'verifier-xyz', 'nonce-1']) expect(decodeURIComponent(set)).not.toContain(secret);
    expect(clearedStateCookie(true)).toMatch(/^tg_oauth=; Max-Age=0; Path=\/auth\/oauth; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('gives back the pending sign-in for its own provider and state', () => {
    expect(pendingSignIn(box, `a=1; ${sentBack(set)}; b=2`, 'google', 'state-abc', now)).toEqual(pending);
  });

  it('refuses a missing, forged, altered, foreign-key, expired, other-provider or mismatched state alike', () => {
    const value = parse(sentBack(set))[OAUTH_STATE_COOKIE]!;
    const flipped = value.slice(0, -3) + (value.at(-3) === 'A' ? 'B' : 'A') + value.slice(-2);
    const cases: [string, string | undefined, string, unknown, number][] = [
      ['no cookie header', undefined, 'google', 'state-abc', now],
      ['no state cookie', 'tg_session=x', 'google', 'state-abc', now],
      ['forged plaintext', `tg_oauth=${encodeURIComponent(JSON.stringify(pending))}`, 'google', 'state-abc', now],
      ['altered ciphertext', `tg_oauth=${flipped}`, 'google', 'state-abc', now],
      ['sealed under another key', sentBack(stateCookie(otherBox, pending, true)), 'google', 'state-abc', now],
      ['expired', sentBack(set), 'google', 'state-abc', pending.expiresAt],
      ['another provider', sentBack(set), 'github', 'state-abc', now],
      ['another state', sentBack(set), 'google', 'state-abd', now],
      ['a state of another length', sentBack(set), 'google', 'state-abc-and-more', now],
      ['no state', sentBack(set), 'google', undefined, now],
      ['a repeated state parameter', sentBack(set), 'google', ['state-abc', 'state-abc'], now],
    ];
    for (const [what, header, provider, state, at] of cases) {
      expect([what, refusal(() => pendingSignIn(box, header, provider, state, at))]).toEqual([what, expect.stringMatching(/^invalid_state: /)]);
    }
  });

  it('never echoes the cookie or the state in its refusal', () => {
    const message = refusal(() => pendingSignIn(box, sentBack(set), 'google', 'attacker-state', now));
    expect(message).not.toContain('attacker-state');
    expect(message).not.toContain('state-abc');
  });
});
