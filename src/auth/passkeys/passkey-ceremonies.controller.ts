/**
 * The passkey ceremonies. Registering needs a session (not a management key): a person adds a
 * passkey from a browser where they are signed in, with the CSRF token like any write.
 * Signing in is for signed-out browsers: the options set an httpOnly cookie holding the
 * ceremony id, and the verify answers with the session cookie. A sign-in request that says it
 * comes from another site (Origin) is refused before anything is looked up.
 */
import { Body, Controller, HttpCode, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { APP_CONFIG, AppConfig, cookieSecure, publicOrigin } from '../../config/config';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrorFilter } from '../../platform/http/api-error.filter';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { UserError } from '../../accounts/domain/user.decider';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../http/account-guard';
import { Principal } from '../http/principal';
import { SessionsService } from '../sessions/sessions.service';
import { CHALLENGE_TTL_SECONDS } from './passkey-challenges';
import { PasskeyError } from './passkey.errors';
import { loginVerifyBody, passkeyCreated, registerVerifyBody, signedInAnswer } from './passkey.schemas';
import { PasskeysService } from './passkeys.service';

/** The sign-in ceremony's id, for the verify of the same browser only. */
export const CEREMONY_COOKIE = 'tg_passkey';
const CEREMONY_COOKIE_PATH = '/auth/passkeys/login';

// The options are WebAuthn's own JSON (PublicKeyCredential*OptionsJSON), handed to the browser as they are.
const optionsSchema = z.looseObject({ challenge: z.string() });

@ApiTags('passkeys')
@Controller('auth/passkeys')
export class PasskeyRegistrationController {
  constructor(private readonly passkeys: PasskeysService) {}

  @Post('register/options')
  @HttpCode(200)
  @AccountApi()
  @SessionOnly()
  @ApiOperation({ summary: 'Start adding a passkey: options for navigator.credentials.create() (your passkeys excluded)' })
  @ApiOkResponse({ schema: jsonSchema(optionsSchema) })
  @ApiErrors('unavailable')
  registerOptions(@CurrentPrincipal() me: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return this.passkeys.registrationOptions(me.userId);
  }

  @Post('register/verify')
  @HttpCode(201)
  @AccountApi()
  @SessionOnly()
  @ApiOperation({ summary: "Finish adding a passkey: the browser's registration response, and a name for it" })
  @ApiBody({ schema: jsonSchema(registerVerifyBody) })
  @ApiCreatedResponse({ schema: jsonSchema(passkeyCreated) })
  @ApiErrors('validation_failed', 'passkey_challenge', 'passkey_invalid', 'duplicate_passkey', 'too_many_passkeys', 'unavailable')
  async registerVerify(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<z.infer<typeof passkeyCreated>> {
    const { response, name } = parseWith(registerVerifyBody, body);
    return this.passkeys.register(me.userId, response, name);
  }
}

@ApiTags('passkeys')
@UseFilters(ApiErrorFilter)
@Controller('auth/passkeys/login')
export class PasskeyLoginController {
  constructor(
    private readonly passkeys: PasskeysService,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('options')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start signing in with a passkey: options for navigator.credentials.get() (any passkey of this site)' })
  @ApiOkResponse({ schema: jsonSchema(optionsSchema), description: `sets the httpOnly cookie ${CEREMONY_COOKIE} that the verify needs` })
  @ApiErrors('csrf', 'unavailable')
  async options(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<PublicKeyCredentialRequestOptionsJSON> {
    this.checkOrigin(request);
    const { options, ceremonyId } = await this.passkeys.loginOptions();
    reply.setCookie(CEREMONY_COOKIE, ceremonyId, {
      httpOnly: true,
      secure: cookieSecure(this.config),
      sameSite: 'lax',
      path: CEREMONY_COOKIE_PATH,
      maxAge: CHALLENGE_TTL_SECONDS,
    });
    void reply.header('cache-control', 'no-store');
    return options;
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: "Finish signing in with a passkey: the browser's assertion; answers with the session cookie" })
  @ApiBody({ schema: jsonSchema(loginVerifyBody) })
  @ApiOkResponse({ schema: jsonSchema(signedInAnswer), description: 'sets the session cookie tg_session' })
  @ApiErrors('csrf', 'validation_failed', 'passkey_challenge', 'passkey_unknown', 'passkey_invalid', 'passkey_counter', 'unavailable')
  async verify(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Body() body: unknown): Promise<{ userId: string }> {
    this.checkOrigin(request);
    const { response } = parseWith(loginVerifyBody, body);
    // One try per ceremony, whatever its outcome: the challenge is gone from Redis either way.
    reply.clearCookie(CEREMONY_COOKIE, { path: CEREMONY_COOKIE_PATH, httpOnly: true, secure: cookieSecure(this.config), sameSite: 'lax' });
    const signIn = await this.passkeys.verifyLogin(request.cookies?.[CEREMONY_COOKIE], response);
    try {
      await this.sessions.signIn(reply, request, signIn.userId, 'passkey', { credentialId: signIn.credentialId, counter: signIn.counter });
    } catch (err) {
      // Removed, or the person erased, between the check and the sign-in's append.
      if (err instanceof UserError && (err.code === 'passkey_not_found' || err.code === 'user_not_found')) {
        throw new PasskeyError('passkey_unknown', 'this passkey is not registered here (it may have been removed)');
      }
      throw err;
    }
    return { userId: signIn.userId };
  }

  private checkOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== publicOrigin(this.config)) throw new ApiError('csrf', 'this sign-in came from another site');
  }
}
