/**
 * What a provider's answer says about the person, reduced to what UsersService links on: the
 * provider's immutable subject (OIDC `sub`, GitHub's numeric `id`, never a login name that its
 * owner can change or give away), an email, and whether the provider vouches for that email.
 * Pure: the HTTP exchanges that fetch the claims are in oauth-clients.ts.
 */
import type { ExternalIdentity } from '../../accounts/application/users.service';
import { OAuthError } from './oauth.errors';

export type { ExternalIdentity };

const MAX_SUBJECT = 255; // OIDC Core: `sub` is at most 255 ASCII characters
const MAX_EMAIL = 254;
const MAX_NAME = 200;

/** From OIDC claims: the ID token's, completed by userinfo's when the ID token left them out. */
export function identityFromOidcClaims(provider: string, claims: Record<string, unknown>): ExternalIdentity {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT) {
    throw new OAuthError('oauth_failed', `${provider} sent no usable subject (sub) for the person`);
  }
  const email = emailOrNull(claims.email);
  return {
    provider,
    subject,
    email,
    // Some issuers send the string "true"; anything else (absent, false, "false") is unverified.
    emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
    displayName: nameOrNull(claims.name),
  };
}

export interface GitHubProfile {
  id?: unknown;
  login?: unknown;
  name?: unknown;
  email?: unknown;
}

export interface GitHubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

/**
 * From GitHub's `/user` and `/user/emails` (null when that list could not be read: the scope
 * was not granted). The primary address and its `verified` flag; without the list, the
 * profile's public email, which GitHub does not vouch for here.
 */
export function identityFromGitHub(profile: GitHubProfile, emails: GitHubEmail[] | null): ExternalIdentity {
  const id = profile.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new OAuthError('oauth_failed', 'GitHub sent no numeric user id');
  }
  const primary = emails?.find((e) => e.primary === true && emailOrNull(e.email) !== null);
  const email = primary ? emailOrNull(primary.email) : emails === null ? emailOrNull(profile.email) : null;
  return {
    provider: 'github',
    subject: String(id),
    email,
    emailVerified: primary?.verified === true,
    displayName: nameOrNull(profile.name) ?? nameOrNull(profile.login),
  };
}

function emailOrNull(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const email = v.trim();
  return email.length <= MAX_EMAIL && /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
}

function nameOrNull(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const name = v.trim();
  return name ? name.slice(0, MAX_NAME) : null;
}
