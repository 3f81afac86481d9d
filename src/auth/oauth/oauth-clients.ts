/**
 * The HTTP side of OAuth sign-in, through openid-client v6 (an ES module: Node 20 require()s
 * it; jest compiles it, see jest.config.js): each provider's configuration (OIDC discovery,
 * or GitHub's fixed endpoints), the authorization URL with state, PKCE (S256) and nonce, and
 * the code exchange, whose ID token openid-client validates (signature, issuer, audience,
 * nonce, expiry) before the person's claims are read.
 *
 * A discovered configuration is kept for a day; a failed discovery is not kept, so the next
 * request tries again. http:// endpoints are allowed outside production only (local issuers
 * in development and tests).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type * as Oidc from 'openid-client';
import { APP_CONFIG } from '../../config/config';
import { onFirstUse } from '../../platform/on-first-use';
import { ApiError } from '../../platform/http/api-error';
import { ExternalIdentity, GitHubEmail, GitHubProfile, identityFromGitHub, identityFromOidcClaims } from './oauth-identity';
import { GitHubProvider, OAuthProvider, OAuthSettings, OidcProvider, configuredProviders } from './oauth-providers';
import { OAUTH_STATE_TTL_SECONDS, PendingSignIn } from './oauth-state-cookie';
import { OAuthError } from './oauth.errors';

/** Loaded on the first OAuth sign-in (platform/on-first-use.ts). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const client = onFirstUse(() => require('openid-client') as typeof Oidc);

const HTTP_TIMEOUT_SECONDS = 10;
const CONFIGURATION_TTL_MS = 24 * 3600_000;
const OIDC_SCOPE = 'openid email profile';
const GITHUB_SCOPE = 'read:user user:email';

@Injectable()
export class OAuthClients {
  private readonly providers: ReadonlyMap<string, OAuthProvider>;
  private readonly configurations = new Map<string, { config: Promise<Oidc.Configuration>; at: number }>();

  constructor(@Inject(APP_CONFIG) private readonly config: OAuthSettings) {
    this.providers = configuredProviders(config);
  }

  provider(name: string): OAuthProvider {
    const p = this.providers.get(name);
    if (!p) throw new OAuthError('provider_not_found', `no sign-in provider named ${JSON.stringify(name.slice(0, 64))} is configured`);
    return p;
  }

  redirectUri(p: OAuthProvider): string {
    return `${this.config.PUBLIC_URL}/auth/oauth/${p.name}/callback`;
  }

  /** A fresh state, PKCE verifier and (OIDC) nonce, and the provider URL that carries them. */
  async begin(p: OAuthProvider, now: number): Promise<{ url: URL; pending: PendingSignIn }> {
    const config = await this.configuration(p);
    const pending: PendingSignIn = {
      provider: p.name,
      state: client().randomState(),
      codeVerifier: client().randomPKCECodeVerifier(),
      nonce: p.kind === 'oidc' ? client().randomNonce() : null,
      expiresAt: now + OAUTH_STATE_TTL_SECONDS * 1000,
    };
    const params: Record<string, string> = {
      redirect_uri: this.redirectUri(p),
      scope: p.kind === 'oidc' ? OIDC_SCOPE : GITHUB_SCOPE,
      state: pending.state,
      code_challenge: await client().calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (pending.nonce) params.nonce = pending.nonce;
    return { url: client().buildAuthorizationUrl(config, params), pending };
  }

  /** Exchanges the callback's code with the verifier, checks the answer, and reads who the person is. */
  async complete(p: OAuthProvider, callbackSearch: string, pending: PendingSignIn): Promise<ExternalIdentity> {
    const config = await this.configuration(p);
    const current = new URL(this.redirectUri(p));
    current.search = callbackSearch;
    try {
      const tokens = await client().authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        ...(p.kind === 'oidc' ? { expectedNonce: pending.nonce ?? '' } : {}),
      });
      if (p.kind === 'github') return await this.gitHubIdentity(p, tokens.access_token);
      const claims = tokens.claims();
      if (!claims) throw new OAuthError('oauth_failed', `${p.name} sent no ID token`);
      // Providers may keep email and name out of the ID token (oidc-provider does by default);
      // then userinfo has them, for the same subject (openid-client checks it).
      if (typeof claims.email !== 'string' && config.serverMetadata().userinfo_endpoint) {
        const info = await client().fetchUserInfo(config, tokens.access_token, claims.sub);
        return identityFromOidcClaims(p.name, { ...info, sub: claims.sub });
      }
      return identityFromOidcClaims(p.name, claims);
    } catch (err) {
      throw failure(p, err);
    }
  }

  private configuration(p: OAuthProvider): Promise<Oidc.Configuration> {
    const now = Date.now();
    const kept = this.configurations.get(p.name);
    if (kept && now - kept.at < CONFIGURATION_TTL_MS) return kept.config;
    const made = p.kind === 'github' ? Promise.resolve().then(() => this.gitHubConfiguration(p)) : this.discover(p);
    this.configurations.set(p.name, { config: made, at: now });
    made.catch(() => {
      if (this.configurations.get(p.name)?.config === made) this.configurations.delete(p.name);
    });
    return made;
  }

  private async discover(p: OidcProvider): Promise<Oidc.Configuration> {
    const issuer = new URL(p.issuer);
    this.checkScheme(p, issuer);
    let found: Oidc.Configuration;
    try {
      found = await client().discovery(issuer, p.clientId, p.clientSecret, undefined, {
        execute: issuer.protocol === 'http:' ? [client().allowInsecureRequests] : [],
        timeout: HTTP_TIMEOUT_SECONDS,
      });
    } catch (err) {
      throw unavailable(`sign-in with ${p.name} is unavailable: its OpenID configuration could not be read from ${p.issuer} (${reason(err)}); try again later`);
    }
    // client_secret_basic is OAuth's default and what a provider that lists nothing supports;
    // client_secret_post only for a provider that offers post and not basic.
    const methods = found.serverMetadata().token_endpoint_auth_methods_supported;
    const post = methods !== undefined && methods.includes('client_secret_post') && !methods.includes('client_secret_basic');
    return this.finish(
      new (client().Configuration)(found.serverMetadata(), p.clientId, p.clientSecret, post ? client().ClientSecretPost(p.clientSecret) : client().ClientSecretBasic(p.clientSecret)),
      issuer,
    );
  }

  /** GitHub is plain OAuth 2 with fixed endpoints: nothing to discover. */
  private gitHubConfiguration(p: GitHubProvider): Oidc.Configuration {
    const base = new URL(p.oauthUrl);
    this.checkScheme(p, base);
    const tokenEndpoint = `${p.oauthUrl}/login/oauth/access_token`;
    const config = this.finish(
      new (client().Configuration)(
        { issuer: p.oauthUrl, authorization_endpoint: `${p.oauthUrl}/login/oauth/authorize`, token_endpoint: tokenEndpoint },
        p.clientId,
        p.clientSecret,
        client().ClientSecretPost(p.clientSecret),
      ),
      base,
    );
    // GitHub refuses a code with 200 and an `error` field; as a 400 it reaches openid-client as
    // the OAuth error it is (bad_verification_code) rather than "no access_token".
    config[client().customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      if (url !== tokenEndpoint || res.status !== 200) return res;
      const text = await res.text();
      const refused = /^\s*\{/.test(text) && typeof (safeJson(text) as { error?: unknown } | null)?.error === 'string';
      return new Response(text, { status: refused ? 400 : 200, headers: res.headers });
    };
    return config;
  }

  private finish(config: Oidc.Configuration, base: URL): Oidc.Configuration {
    if (base.protocol === 'http:') client().allowInsecureRequests(config);
    config.timeout = HTTP_TIMEOUT_SECONDS;
    return config;
  }

  private checkScheme(p: OAuthProvider, url: URL): void {
    if (url.protocol === 'https:' || (url.protocol === 'http:' && this.config.NODE_ENV !== 'production')) return;
    throw unavailable(`sign-in with ${p.name} is unavailable: its endpoint ${url.origin} is not https`);
  }

  private async gitHubIdentity(p: GitHubProvider, accessToken: string): Promise<ExternalIdentity> {
    const get = (path: string) =>
      fetch(`${p.apiUrl}${path}`, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${accessToken}`,
          'user-agent': 'Tollgate',
          'x-github-api-version': '2022-11-28',
        },
        signal: AbortSignal.timeout(HTTP_TIMEOUT_SECONDS * 1000),
      });
    const [user, emails] = await Promise.all([get('/user'), get('/user/emails')]);
    if (!user.ok) {
      await Promise.all([user.body?.cancel(), emails.body?.cancel()]);
      const message = `GitHub's /user answered ${user.status}`;
      throw user.status >= 500 ? unavailable(message) : new OAuthError('oauth_failed', message);
    }
    // An answer that is not JSON reads as an empty profile: refused below for want of an id.
    const profile = ((await user.json().catch(() => null)) ?? {}) as GitHubProfile;
    // Without the user:email scope (the person may decline it) the list answers 404 or 403.
    const list: unknown = emails.ok ? await emails.json().catch(() => null) : (await emails.body?.cancel(), null);
    return identityFromGitHub(profile, Array.isArray(list) ? (list as GitHubEmail[]) : null);
  }
}

/** Refusals that are the browser's doing (a code used twice, expired, or not this sign-in's). */
const CODE_REFUSALS = new Set(['invalid_grant', 'bad_verification_code']);
const log = new Logger('OAuth');

/** The OAuthError a failed exchange is, or the error itself when it is a bug of ours. */
function failure(p: OAuthProvider, err: unknown): unknown {
  if (err instanceof OAuthError || err instanceof ApiError) return err;
  if (unreachable(err)) return unavailable(`${p.name} could not be reached to complete the sign-in (${reason(err)}); try again`);
  if (err instanceof client().ResponseBodyError) {
    if (CODE_REFUSALS.has(err.error)) {
      return new OAuthError('oauth_failed', `${p.name} refused the sign-in code (${err.error}): it was used already, has expired, or belongs to another sign-in; start again`);
    }
    // invalid_client and the like: the deployment's client id or secret, not the person.
    log.warn(`${p.name} refused the code exchange with ${err.error}: check its client id and secret`);
    return new OAuthError('oauth_failed', `${p.name} refused the code exchange (${err.error})`);
  }
  if (err instanceof client().WWWAuthenticateChallengeError) {
    // A 401 challenge at the token endpoint: the client authentication (id or secret) failed.
    const error = err.cause[0]?.parameters.error ?? `HTTP ${err.status}`;
    log.warn(`${p.name} refused the code exchange with ${error}: check its client id and secret`);
    return new OAuthError('oauth_failed', `${p.name} refused the code exchange (${error})`);
  }
  if (err instanceof client().AuthorizationResponseError) return new OAuthError('oauth_failed', `${p.name} answered the sign-in with an error (${err.error})`);
  if (err instanceof client().ClientError) return new OAuthError('oauth_failed', `${p.name}'s answer did not validate: ${reason(err)}`);
  return err;
}

const unavailable = (message: string) => new ApiError('unavailable', message, { retryAfterSeconds: 30 });

/** Network failures and timeouts (the provider is away), as opposed to answers it gave. */
function unreachable(err: unknown): boolean {
  // openid-client may wrap fetch's error (as `cause`), and fetch's errors come from Node's
  // realm, not jest's: looked for along the chain, by name rather than instanceof.
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, message, code } = e as { name?: unknown; message?: unknown; code?: unknown };
    if (name === 'TypeError' && message === 'fetch failed') return true;
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return true;
  }
  const status = statusOf((err as { cause?: unknown }).cause);
  return status !== null && status >= 500;
}

/** The HTTP status of an error's cause when it is a Response (openid-client attaches it). */
function statusOf(cause: unknown): number | null {
  if (typeof cause !== 'object' || cause === null || !('headers' in cause)) return null;
  const status = (cause as { status?: unknown }).status;
  return typeof status === 'number' ? status : null;
}

/** What went wrong, for the message: the messages along the cause chain (network errors nest). */
function reason(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const status = statusOf(e);
    const message = status !== null ? `HTTP ${status}` : (e as { message?: unknown }).message;
    if (typeof message === 'string' && message && message !== 'something went wrong') parts.push(message);
  }
  return (parts.join(': ') || String(err)).slice(0, 300);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
