/**
 * The sign-in link routes. None needs a session or a CSRF token (the mailed token is the
 * proof); the POST that uses a link refuses a request another site's page made (login CSRF:
 * signing a victim's browser into the attacker's account), by Sec-Fetch-Site and Origin.
 */
import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APP_CONFIG, AppConfig, publicOrigin } from '../../config/config';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { SessionsService } from '../sessions/sessions.service';
import { MagicLinkError, MagicLinkService, invalidToken } from './magic-link.service';
import { PAGE_HEADERS, confirmPage, invalidLinkPage, refusedPage } from './magic-link-pages';
import { isTokenShaped } from './magic-link-tokens.repository';
import { emailField } from './email-field';

const requestBody = z.strictObject({ email: emailField });
const accepted = z.object({ message: z.string() });
const verifyBody = z.strictObject({ token: z.string().max(512) });
const signedIn = z.object({ userId: z.uuid(), accountId: z.uuid(), created: z.boolean() });

// Nest's Fastify adapter parses form bodies on every route; only the page's button posts one.
const isFormPost = (request: FastifyRequest): boolean =>
  (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');

const ACCEPTED_MESSAGE = 'If that address can receive mail, a sign-in link is on its way. It works once, for a short time.';

@ApiTags('sign-in')
@Controller('auth/magic-link')
export class MagicLinkController {
  constructor(
    private readonly magicLinks: MagicLinkService,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Mail a sign-in link',
    description:
      'The same 202 whether or not the address belongs to someone (the link signs up a new address when used). ' +
      'Limited per address and per client address per hour (429 with retry-after).',
  })
  @ApiBody({ schema: jsonSchema(requestBody) })
  @ApiResponse({ status: 202, description: 'the link is on its way (or would be, to an address that exists)', schema: jsonSchema(accepted) })
  @ApiErrors('validation_failed', 'unsupported_media_type', 'rate_limited', 'mail_not_configured', 'unavailable')
  async request(@Req() request: FastifyRequest, @Body() body: unknown): Promise<{ message: string }> {
    // JSON only: a plain form on another site must not be able to have links mailed.
    if (isFormPost(request)) throw new ApiError('unsupported_media_type', 'send the body as application/json');
    const { email } = parseWith(requestBody, body);
    await this.magicLinks.request(email, request.ip);
    return { message: ACCEPTED_MESSAGE };
  }

  @Get('verify')
  @ApiOperation({
    summary: 'The page a sign-in link opens',
    description: 'Changes nothing (mail scanners open links): an HTML page whose button POSTs the token to this path.',
  })
  @ApiQuery({ name: 'token', required: true, type: String })
  @ApiProduces('text/html')
  @ApiResponse({ status: 200, description: 'the page with the sign-in button' })
  @ApiResponse({ status: 400, description: 'the link has expired, was used, or is not ours: a page saying so' })
  async page(@Query('token') token: unknown, @Res() reply: FastifyReply): Promise<void> {
    const usable = isTokenShaped(token) && (await this.magicLinks.usable(token));
    await reply
      .code(usable ? 200 : 400)
      .headers(PAGE_HEADERS)
      .send(usable ? confirmPage(token) : invalidLinkPage());
  }

  @Post('verify')
  @ApiOperation({
    summary: 'Use a sign-in link',
    description:
      'Uses the token once, signs in (registering a new address with its account) and sets the session cookie. ' +
      'A form post (the page\'s button) is answered 303 to `/`; a JSON request 200 with the ids.',
  })
  @ApiConsumes('application/json', 'application/x-www-form-urlencoded')
  @ApiBody({ schema: jsonSchema(verifyBody) })
  @ApiResponse({ status: 200, description: 'signed in (JSON request); the tg_session cookie is set', schema: jsonSchema(signedIn) })
  @ApiResponse({ status: 303, description: 'signed in (form post); the tg_session cookie is set' })
  @ApiErrors('invalid_token', 'validation_failed', 'csrf')
  async verify(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() body: unknown): Promise<void> {
    const form = isFormPost(request);
    try {
      if (this.fromAnotherSite(request)) throw new ApiError('csrf', 'this sign-in did not come from this site');
      const token = form ? (body as Record<string, unknown> | undefined)?.token : parseWith(verifyBody, body).token;
      if (typeof token !== 'string') throw invalidToken();
      const { user, created } = await this.magicLinks.use(token);
      await this.sessions.signIn(reply, request, user.userId, 'magic_link');
      if (form) await reply.code(303).header('location', '/').header('cache-control', 'no-store').send();
      else await reply.code(200).header('cache-control', 'no-store').send({ userId: user.userId, accountId: user.accountId, created });
    } catch (err) {
      // A person pressing the page's button gets a page; a script gets the API's error (the filter).
      if (!form) throw err;
      if (err instanceof MagicLinkError) await reply.code(400).headers(PAGE_HEADERS).send(invalidLinkPage());
      else if (err instanceof ApiError && err.code === 'csrf') await reply.code(403).headers(PAGE_HEADERS).send(refusedPage());
      else throw err;
    }
  }

  /**
   * Browsers say where a request comes from: Sec-Fetch-Site always, Origin on a POST (`null`
   * from our own page, whose no-referrer policy hides it). Scripts send neither.
   */
  private fromAnotherSite(request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return true;
    const origin = request.headers.origin;
    return origin !== undefined && origin !== 'null' && origin !== publicOrigin(this.config);
  }
}
