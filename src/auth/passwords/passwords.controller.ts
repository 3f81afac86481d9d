/**
 * Email + password routes, served only while AUTH_PASSWORDS=true (otherwise they answer 404 as
 * any unknown route). Sign-up mails a link (202, the same for every address); log-in sets the
 * session cookie; a signed-in person may set a new password (reset: sign in by link, then this).
 */
import { Body, Controller, HttpCode, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../http/account-guard';
import { Principal } from '../http/principal';
import { SessionsService } from '../sessions/sessions.service';
import { emailField } from '../magic-link/email-field';
import { PASSWORD_MAX, PASSWORD_MIN, PasswordsService } from './passwords.service';

const password = z
  .string()
  .min(PASSWORD_MIN, { error: `must be at least ${PASSWORD_MIN} characters` })
  .max(PASSWORD_MAX, { error: `must be at most ${PASSWORD_MAX} characters` });
const credentials = z.strictObject({ email: emailField, password });
const newPassword = z.strictObject({ password });
const accepted = z.object({ message: z.string() });
const signedIn = z.object({ userId: z.uuid(), accountId: z.uuid() });

const SIGNUP_MESSAGE = 'If that address can receive mail, a link to confirm it is on its way; the password is set when the link is used.';

@ApiTags('sign-in')
@Controller()
export class PasswordsController {
  constructor(
    private readonly passwords: PasswordsService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('auth/signup')
  @HttpCode(202)
  @ApiOperation({ summary: 'Sign up (or reset a password) with email and password (AUTH_PASSWORDS only)', description: 'Mails a link that confirms the address; the password is set when it is used. The same answer for every address.' })
  @ApiBody({ schema: jsonSchema(credentials) })
  @ApiResponse({ status: 202, schema: jsonSchema(accepted) })
  @ApiErrors('validation_failed', 'not_found', 'rate_limited', 'mail_not_configured', 'unavailable')
  async signUp(@Req() request: FastifyRequest, @Body() body: unknown): Promise<{ message: string }> {
    this.requireEnabled();
    const c = parseWith(credentials, body);
    await this.passwords.signUp(c.email, c.password, request.ip);
    return { message: SIGNUP_MESSAGE };
  }

  @Post('auth/login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with email and password (AUTH_PASSWORDS only)', description: 'Sets the session cookie. A wrong password and an unknown address get the same 401.' })
  @ApiBody({ schema: jsonSchema(credentials) })
  @ApiResponse({ status: 200, schema: jsonSchema(signedIn) })
  @ApiErrors('validation_failed', 'unauthenticated', 'not_found', 'rate_limited', 'unavailable')
  async logIn(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Body() body: unknown): Promise<{ userId: string; accountId: string }> {
    this.requireEnabled();
    const c = parseWith(credentials, body);
    const user = await this.passwords.logIn(c.email, c.password, request.ip);
    await this.sessions.signIn(reply, request, user.userId, 'password');
    void reply.header('cache-control', 'no-store');
    return { userId: user.userId, accountId: user.accountId };
  }

  @Put('api/me/password')
  @AccountApi()
  @SessionOnly()
  @HttpCode(204)
  @ApiOperation({ summary: 'Set a new password for yourself (AUTH_PASSWORDS only)' })
  @ApiBody({ schema: jsonSchema(newPassword) })
  @ApiErrors('validation_failed', 'not_found')
  async change(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<void> {
    this.requireEnabled();
    await this.passwords.change(me.userId, parseWith(newPassword, body).password);
  }

  private requireEnabled(): void {
    if (!this.passwords.enabled) throw new ApiError('not_found', 'no such route');
  }
}
