import { identityFromGitHub, identityFromOidcClaims } from '../../../src/auth/oauth/oauth-identity';
import { OAuthError } from '../../../src/auth/oauth/oauth.errors';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
  throw new Error('expected an OAuthError');
};

describe('identityFromOidcClaims', () => {
  it('keys the identity by sub and vouches for the email only when email_verified is true', () => {
    expect(identityFromOidcClaims('google', { sub: '1098', email: ' Ada@Example.org ', email_verified: true, name: ' Ada ' })).toEqual({
      provider: 'google',
      subject: '1098',
      email: 'Ada@Example.org',
      emailVerified: true,
      displayName: 'Ada',
    });
    expect(identityFromOidcClaims('sso', { sub: 's', email: 'a@b.c', email_verified: 'true' }).emailVerified).toBe(true);
    for (const email_verified of [false, 'false', undefined, 1, 'yes']) {
      expect(identityFromOidcClaims('sso', { sub: 's', email: 'a@b.c', email_verified }).emailVerified).toBe(false);
    }
  });

  it('drops an email that is not one (and with it any claim of verification)', () => {
    for (const email of ['', 'no-at-sign', 'two words@x.y', 42, `${'a'.repeat(250)}@x.yz`, null]) {
      const id = identityFromOidcClaims('sso', { sub: 's', email, email_verified: true });
      expect(id).toMatchObject({ email: null, emailVerified: false });
    }
  });

  it('refuses an answer with no usable subject', () => {
    for (const sub of [undefined, '', 12, 'x'.repeat(256)]) expect(code(() => identityFromOidcClaims('sso', { sub }))).toBe('oauth_failed');
  });

  it('caps a huge display name and ignores a blank one', () => {
    expect(identityFromOidcClaims('sso', { sub: 's', name: 'n'.repeat(10_000) }).displayName).toHaveLength(200);
    expect(identityFromOidcClaims('sso', { sub: 's', name: '   ' }).displayName).toBeNull();
  });
});

describe('identityFromGitHub', () => {
  const profile = { id: 583231, login: 'octocat', name: 'The Octocat', email: 'public@octo.cat' };

  it('uses the numeric id as subject, never the login, and the primary email with its verified flag', () => {
    const emails = [
      { email: 'other@octo.cat', primary: false, verified: true },
      { email: 'primary@octo.cat', primary: true, verified: true },
    ];
    expect(identityFromGitHub(profile, emails)).toEqual({
      provider: 'github',
      subject: '583231',
      email: 'primary@octo.cat',
      emailVerified: true,
      displayName: 'The Octocat',
    });
    expect(identityFromGitHub({ ...profile, login: 'renamed' }, emails).subject).toBe('583231');
  });

  it('does not vouch for an unverified primary, nor for the public profile email', () => {
    expect(identityFromGitHub(profile, [{ email: 'p@octo.cat', primary: true, verified: false }])).toMatchObject({
      email: 'p@octo.cat',
      emailVerified: false,
    });
    // The email list could not be read (scope declined): the profile's public email, unverified.
    expect(identityFromGitHub(profile, null)).toMatchObject({ email: 'public@octo.cat', emailVerified: false });
    // A list without a primary: no email at all rather than a guess.
    expect(identityFromGitHub(profile, [{ email: 'x@octo.cat', primary: false, verified: true }])).toMatchObject({ email: null, emailVerified: false });
  });

  it('falls back to the login as display name, and refuses a profile without a numeric id', () => {
    expect(identityFromGitHub({ id: 7, login: 'seven', name: null }, []).displayName).toBe('seven');
    for (const id of [undefined, '583231', 0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      expect(code(() => identityFromGitHub({ ...profile, id }, []))).toBe('oauth_failed');
    }
  });
});
