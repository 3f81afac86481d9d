/**
 * `GET /auth/methods`: public (no session needed, none read), so the sign-in screen can offer
 * exactly the methods that work here: a button per OAuth/OIDC provider, the password form only
 * with AUTH_PASSWORDS, the link by mail only when mail can be sent.
 */
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { jsonSchema } from '../../platform/http/openapi';
import { Mailer } from '../../platform/mail/mailer';
import { SignInMethods, signInMethods, signInMethodsSchema } from './sign-in-methods';

@ApiTags('sign-in')
@Controller('auth/methods')
export class SignInMethodsController {
  private readonly methods: SignInMethods;

  constructor(@Inject(APP_CONFIG) config: AppConfig, mailer: Mailer) {
    // Config does not change while the process runs: one answer, computed once.
    this.methods = signInMethods(config, mailer.transport);
  }

  @Get()
  @ApiOperation({ summary: 'The ways to sign in that this gateway offers (public: no sign-in)' })
  @ApiOkResponse({ schema: jsonSchema(signInMethodsSchema) })
  list(@Res({ passthrough: true }) reply: FastifyReply): SignInMethods {
    // Revalidated on every load: an operator's change shows after a restart, never a stale button.
    void reply.header('cache-control', 'no-cache');
    return this.methods;
  }
}
