/**
 * `DELETE /api/me`: a person erases themselves (the right to be forgotten). Only with a session
 * that signed in within the last 10 minutes (401 `reauthentication_required` otherwise): a
 * session cookie left on a shared computer must not be enough to destroy an account. Never with
 * a management key. The answer says what happened to the unused credit; the cookie is cleared.
 */
import { Controller, Delete, HttpCode, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { SessionsService } from '../../../auth/sessions/sessions.service';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { ErasureService } from '../application/erasure.service';
import { ErasureView, erasureView, erasureViewOf } from './erasure-view';

@ApiTags('me')
@AccountApi()
@Controller('api/me')
export class EraseMeController {
  constructor(
    private readonly erasure: ErasureService,
    private readonly sessions: SessionsService,
  ) {}

  @Delete()
  @SessionOnly()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Erase your account and personal data (right to be forgotten)',
    description:
      'Needs a sign-in within the last 10 minutes. Revokes every key, ends every session, removes passkeys and sign-in identities, and destroys your data key. Unused credit: a refund request is filed for each purchase still within its refund window; the rest is forfeited. Cannot be undone.',
  })
  @ApiOkResponse({ schema: jsonSchema(erasureView) })
  @ApiErrors('reauthentication_required')
  async erase(@CurrentPrincipal() me: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<ErasureView> {
    await this.erasure.checkRecentSignIn(me.sessionId);
    const { erasure, alreadyErased } = await this.erasure.erase({ userId: me.userId, actor: `user:${me.userId}`, via: 'self', reason: null });
    this.sessions.clearCookie(reply);
    return erasureViewOf(erasure, alreadyErased);
  }
}
