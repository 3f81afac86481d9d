/**
 * GET /auth/oauth/{provider}/start and /callback: browser navigations, so they answer with
 * redirects (302 to the provider; 303 home once signed in). A person who declines at the
 * provider is sent home with `?signin_error=access_denied` (or `provider_error`), since their
 * browser, not a script, is on this page; a callback that fails a check (state, code, ID
 * token) gets the API's JSON error, and nothing is created.
 */
import '@fastify/cookie';
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiFoundResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UsersService } from '../../accounts/application/users.service';
import { APP_CONFIG, AppConfig, cookieSecure } from '../../config/config';
import { ApiErrors } from '../../platform/http/openapi';
import { SessionsService } from '../sessions/sessions.service';
import { OAuthSignIn } from './oauth-sign-in.service';
import { OAUTH_STATE_COOKIE, stateCookieOptions } from './oauth-state-cookie';

const PROVIDER = { name: 'provider', description: '`google`, `github`, or the name of an OIDC_PROVIDERS entry', example: 'google' };

@ApiTags('sign-in')
@Controller('auth/oauth')
export class OAuthController {
  private readonly secure: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly oauth: OAuthSignIn,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {
    this.secure = cookieSecure(config);
  }

  @Get(':provider/start')
  @ApiOperation({
    summary: 'Start signing in with a provider',
    description:
      'Redirects the browser to the provider with state, PKCE (S256) and, for OpenID Connect, a nonce; ' +
      'they are kept in a sealed, httpOnly `tg_oauth` cookie (Path=/auth/oauth, 10 minutes) that the callback checks.',
  })
  @ApiParam(PROVIDER)
  @ApiFoundResponse({ description: "To the provider's authorization page; sets the `tg_oauth` cookie." })
  @ApiErrors('provider_not_found', 'unavailable')
  async start(@Param('provider') provider: string, @Res() reply: FastifyReply): Promise<void> {
    const { location, stateCookie } = await this.oauth.start(provider, Date.now());
    await reply.setCookie(OAUTH_STATE_COOKIE, stateCookie, stateCookieOptions(this.secure)).header('cache-control', 'no-store').redirect(location, 302);
  }

  @Get(':provider/callback')
  @ApiOperation({
    summary: 'Finish signing in (the provider redirects here)',
    description:
      'Checks the state against the `tg_oauth` cookie (once), exchanges the code with the PKCE verifier, validates the ' +
      'ID token (issuer, audience, nonce, expiry), then signs the person in: the identity is found by the provider\'s ' +
      'subject, or linked to the user holding the same email only when the provider says it is verified, or a new ' +
      'user (and account) is made. Answers 303 to `/` with the `tg_session` cookie. When the person declined at the ' +
      'provider: 303 to `/?signin_error=access_denied` (or `provider_error`), nothing created.',
  })
  @ApiParam(PROVIDER)
  @ApiResponse({ status: 303, description: 'To `/`, signed in (sets `tg_session`); or to `/?signin_error=…` when the provider refused.' })
  @ApiErrors('provider_not_found', 'invalid_state', 'oauth_failed', 'unavailable')
  async callback(@Param('provider') provider: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    // Whatever happens next, this sign-in attempt is over for the browser.
    void reply.clearCookie(OAUTH_STATE_COOKIE, stateCookieOptions(this.secure)).header('cache-control', 'no-store');
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const outcome = await this.oauth.finish(provider, request.query as Record<string, unknown>, search, request.cookies[OAUTH_STATE_COOKIE], Date.now());
    if (outcome.kind === 'declined') {
      await reply.redirect(`/?signin_error=${outcome.reason}`, 303);
      return;
    }
    const { user } = await this.users.signInWithIdentity(outcome.identity);
    await this.sessions.signIn(reply, request, user.userId, 'oauth');
    await reply.redirect('/', 303);
  }
}
