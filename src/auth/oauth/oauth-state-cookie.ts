/**
 * The browser's half of a sign-in under way: state, PKCE verifier and nonce, kept between
 * /start and /callback in a cookie only this browser holds (httpOnly, SameSite=Lax so the
 * provider's redirect back brings it, Path=/auth/oauth, 10 minutes). It is sealed with the
 * SecretBox (AES-GCM under ENCRYPTION_KEY), so it can be neither read (the verifier stays
 * secret) nor forged nor moved to another provider's callback. Nothing is stored server-side
 * until the callback, which marks the state used (oauth-used-states.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { SecretBox } from '../../platform/crypto/secret-box';
import { OAuthError } from './oauth.errors';

export const OAUTH_STATE_COOKIE = 'tg_oauth';
export const OAUTH_STATE_TTL_SECONDS = 600;
const PURPOSE = 'oauth-state';

export interface PendingSignIn {
  provider: string;
  state: string;
  codeVerifier: string;
  /** OIDC only; GitHub has no ID token to carry one. */
  nonce: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function stateCookieOptions(secure: boolean) {
  return { httpOnly: true, sameSite: 'lax' as const, secure, path: '/auth/oauth', maxAge: OAUTH_STATE_TTL_SECONDS };
}

/** The cookie's value. */
export function sealPending(box: SecretBox, pending: PendingSignIn): string {
  return box.seal(JSON.stringify(pending), PURPOSE);
}

/**
 * The sign-in this browser started with `provider`, if the callback's `state` is its own.
 * Every way of failing is the same `invalid_state`: nothing about the cookie is echoed.
 */
export function pendingSignIn(box: SecretBox, sealed: string | undefined, provider: string, state: unknown, now: number): PendingSignIn {
  const refuse = (why: string) => new OAuthError('invalid_state', `the sign-in state ${why}; start the sign-in again`);
  if (!sealed) throw refuse('cookie is missing (expired, or this browser did not start the sign-in)');
  let pending: PendingSignIn;
  try {
    pending = JSON.parse(box.open(sealed, PURPOSE)) as PendingSignIn;
  } catch {
    // SecretBox refuses anything altered or sealed under another key or purpose.
    throw refuse('cookie is not one this server made');
  }
  if (pending.provider !== provider) throw refuse(`was made for another provider, not ${provider}`);
  if (!(pending.expiresAt > now)) throw refuse('has expired');
  if (typeof state !== 'string' || !sameString(state, pending.state)) throw refuse('does not match the one sent to the provider');
  return pending;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
