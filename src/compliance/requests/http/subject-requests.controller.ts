/**
 * The person's own data-subject requests: `POST /api/me/requests {kind, details?}` records one
 * (access, export, correction, deletion or restriction), due 30 days later;
 * `GET /api/me/requests` lists them newest first; `GET /api/me/requests/{id}` shows one (another
 * person's is 404, as one that does not exist).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../../platform/http/pagination';
import { parseWith } from '../../../platform/http/validation';
import { SubjectRequestsService } from '../application/subject-requests.service';
import { openBody, requestId, subjectRequestCursor } from './subject-request-input';
import { SubjectRequestView, subjectRequestView, viewOf } from './subject-request-views';

const listAnswer = z.object({ data: z.array(subjectRequestView), nextCursor: z.string().nullable() });

@ApiTags('privacy')
@AccountApi()
@Controller('api/me/requests')
export class SubjectRequestsController {
  constructor(private readonly requests: SubjectRequestsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Make a data-subject request',
    description:
      'Access to your data, a copy of it (export), a correction, its deletion, or a restriction of its processing. Answered within 30 days (`dueAt`). `details` (at most 2000 characters) is stored encrypted with your personal key.',
  })
  @ApiBody({ schema: jsonSchema(openBody) })
  @ApiCreatedResponse({ schema: jsonSchema(subjectRequestView) })
  @ApiErrors('validation_failed')
  async open(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<SubjectRequestView> {
    const b = parseWith(openBody, body);
    const r = await this.requests.open({ userId: me.userId, kind: b.kind, details: b.details ?? null, actor: 'self' });
    return viewOf(r, { details: b.details ?? null, note: null }, this.requests.now());
  }

  @Get()
  @ApiOperation({ summary: 'Your data-subject requests, newest first' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ schema: jsonSchema(listAnswer) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<SubjectRequestView>> {
    const { limit, cursor } = pageParams(query, subjectRequestCursor);
    const rows = await this.requests.list({ userId: me.userId }, limit, cursor);
    const page = pageOf(rows, limit, (r) => ({ at: r.openedAt.toISOString(), id: r.requestId }), (r) => r);
    const now = this.requests.now();
    return { data: await Promise.all(page.data.map(async (r) => viewOf(r, await this.requests.opened(r), now))), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your data-subject requests' })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiOkResponse({ schema: jsonSchema(subjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found')
  async one(@CurrentPrincipal() me: Principal, @Param() params: unknown): Promise<SubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const r = await this.requests.getFor(me.userId, id);
    return viewOf(r, await this.requests.opened(r), this.requests.now());
  }
}
