/**
 * The sign-in providers this deployment offers, from config: Google (OIDC discovery at
 * GOOGLE_ISSUER) and GitHub (plain OAuth 2 at GITHUB_OAUTH_URL, identity from GITHUB_API_URL)
 * when both their client id and secret are set, and every OIDC_PROVIDERS entry (company SSO).
 * A provider's name is its path segment (/auth/oauth/{name}/…) and the `provider` of the
 * identities it links, so renaming one orphans its identities.
 */
import { AppConfig } from '../../config/config';

/** The part of AppConfig sign-in reads. */
export type OAuthSettings = Pick<
  AppConfig,
  | 'NODE_ENV'
  | 'PUBLIC_URL'
  | 'GOOGLE_CLIENT_ID'
  | 'GOOGLE_CLIENT_SECRET'
  | 'GOOGLE_ISSUER'
  | 'GITHUB_CLIENT_ID'
  | 'GITHUB_CLIENT_SECRET'
  | 'GITHUB_OAUTH_URL'
  | 'GITHUB_API_URL'
  | 'OIDC_PROVIDERS'
>;

export interface OidcProvider {
  kind: 'oidc';
  name: string;
  /** What the sign-in screen's button calls it. */
  displayName: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface GitHubProvider {
  kind: 'github';
  name: 'github';
  displayName: 'GitHub';
  /** Where /login/oauth/authorize and /login/oauth/access_token are. */
  oauthUrl: string;
  /** Where /user and /user/emails are (https://api.github.com, or GHE's …/api/v3). */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
}

export type OAuthProvider = OidcProvider | GitHubProvider;

const trimSlash = (u: string) => u.replace(/\/+$/, '');

export function configuredProviders(s: OAuthSettings): ReadonlyMap<string, OAuthProvider> {
  const providers = new Map<string, OAuthProvider>();
  if (s.GOOGLE_CLIENT_ID && s.GOOGLE_CLIENT_SECRET) {
    providers.set('google', {
      kind: 'oidc',
      name: 'google',
      displayName: 'Google',
      issuer: s.GOOGLE_ISSUER,
      clientId: s.GOOGLE_CLIENT_ID,
      clientSecret: s.GOOGLE_CLIENT_SECRET,
    });
  }
  if (s.GITHUB_CLIENT_ID && s.GITHUB_CLIENT_SECRET) {
    providers.set('github', {
      kind: 'github',
      name: 'github',
      displayName: 'GitHub',
      oauthUrl: trimSlash(s.GITHUB_OAUTH_URL),
      apiUrl: trimSlash(s.GITHUB_API_URL),
      clientId: s.GITHUB_CLIENT_ID,
      clientSecret: s.GITHUB_CLIENT_SECRET,
    });
  }
  // config.ts has checked the names: unique, lower-case, neither google nor github.
  for (const p of s.OIDC_PROVIDERS) {
    providers.set(p.name, { kind: 'oidc', name: p.name, displayName: p.displayName ?? p.name, issuer: p.issuer, clientId: p.clientId, clientSecret: p.clientSecret });
  }
  return providers;
}
