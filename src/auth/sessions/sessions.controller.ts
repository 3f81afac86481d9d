/**
 * A person's sessions: list them (device, dates: never an IP), end one, end this one (logout) or
 * all of them (logout-all), and get the CSRF token that cookie-authenticated writes carry.
 * Session only: a management key has no session to end.
 */
import { Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../http/account-guard';
import { Principal } from '../http/principal';
import { SessionsService } from './sessions.service';

const sessionSchema = z.object({
  id: z.uuid(),
  device: z.string(),
  method: z.string(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  current: z.boolean(),
});
const idParam = z.object({ id: z.uuid({ error: 'must be a session id' }) });

@ApiTags('sessions')
@AccountApi()
@SessionOnly()
@Controller()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get('auth/csrf')
  @ApiOperation({ summary: 'A CSRF token for this session: send it as x-csrf-token on every write' })
  @ApiOkResponse({ schema: jsonSchema(z.object({ token: z.string() })) })
  async csrf(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ token: string }> {
    const session = await this.sessions.principalOf(request);
    void reply.header('cache-control', 'no-store');
    // The guard has just found this session; it can only be gone if it ended in between.
    if (!session) throw notFound('the session');
    return { token: this.sessions.csrfToken(session) };
  }

  @Get('api/sessions')
  @ApiOperation({ summary: "The signed-in person's sessions, newest first" })
  @ApiOkResponse({ schema: jsonSchema(z.object({ data: z.array(sessionSchema), nextCursor: z.null() })) })
  async list(@CurrentPrincipal() me: Principal): Promise<{ data: unknown[]; nextCursor: null }> {
    return { data: await this.sessions.list(me.userId, me.sessionId), nextCursor: null };
  }

  @Delete('api/sessions/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of your sessions (it is refused from its next request on)' })
  @ApiErrors('not_found', 'validation_failed')
  async end(@CurrentPrincipal() me: Principal, @Param() params: unknown): Promise<void> {
    const { id } = parseWith(idParam, params, 'query');
    if (!(await this.sessions.end(me.userId, id))) throw notFound('the session');
  }

  @Post('auth/logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out of this session' })
  async logout(@CurrentPrincipal() me: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    if (me.sessionId) await this.sessions.end(me.userId, me.sessionId);
    this.sessions.clearCookie(reply);
  }

  @Post('auth/logout-all')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign out of every session of yours, this one included' })
  @ApiOkResponse({ schema: jsonSchema(z.object({ ended: z.number().int() })) })
  async logoutAll(@CurrentPrincipal() me: Principal, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ ended: number }> {
    const ended = await this.sessions.endAll(me.userId);
    this.sessions.clearCookie(reply);
    return { ended };
  }
}
