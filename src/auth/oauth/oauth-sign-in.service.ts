/**
 * The two legs of an OAuth / OIDC sign-in, without HTTP plumbing: `start` makes the sealed
 * state and the provider URL; `finish` checks the callback against the state cookie, uses the
 * state once, exchanges the code and says who the person is. Nothing is created before the
 * state checks pass; the controller then signs the person in (UsersService, SessionsService).
 */
import { Injectable } from '@nestjs/common';
import { SecretBox } from '../../platform/crypto/secret-box';
import { OAuthClients } from './oauth-clients';
import { ExternalIdentity } from './oauth-identity';
import { pendingSignIn, sealPending } from './oauth-state-cookie';
import { UsedOAuthStates } from './oauth-used-states';
import { OAuthError } from './oauth.errors';

export type CallbackOutcome =
  | { kind: 'identity'; identity: ExternalIdentity }
  /** The person declined at the provider, or it answered with an error instead of a code. */
  | { kind: 'declined'; reason: 'access_denied' | 'provider_error' };

@Injectable()
export class OAuthSignIn {
  constructor(
    private readonly clients: OAuthClients,
    private readonly box: SecretBox,
    private readonly usedStates: UsedOAuthStates,
  ) {}

  /** Where to send the browser, and the state cookie's value that binds the sign-in to it. */
  async start(providerName: string, now: number): Promise<{ location: string; stateCookie: string }> {
    const { url, pending } = await this.clients.begin(this.clients.provider(providerName), now);
    return { location: url.href, stateCookie: sealPending(this.box, pending) };
  }

  /**
   * @param query the callback's parsed query (a repeated parameter is an array)
   * @param search its raw query string, `?code=…&state=…`, as the provider sent it
   * @param stateCookie the browser's state cookie, if it sent one
   */
  async finish(providerName: string, query: Record<string, unknown>, search: string, stateCookie: string | undefined, now: number): Promise<CallbackOutcome> {
    const provider = this.clients.provider(providerName);
    if (query.error !== undefined) return { kind: 'declined', reason: query.error === 'access_denied' ? 'access_denied' : 'provider_error' };
    const pending = pendingSignIn(this.box, stateCookie, provider.name, query.state, now);
    if (!(await this.usedStates.claim(pending.state, pending.expiresAt, now))) {
      throw new OAuthError('invalid_state', 'the sign-in state was used already; start the sign-in again');
    }
    return { kind: 'identity', identity: await this.clients.complete(provider, search, pending) };
  }
}
