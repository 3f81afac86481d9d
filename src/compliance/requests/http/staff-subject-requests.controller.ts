/**
 * Compliance staff and data-subject requests (role compliance; admin holds every role):
 * - `POST /staff/users/{id}/requests {kind, details?, reason?}` records a request made another way
 *   (mail, phone) for the person;
 * - `GET /staff/requests?status=&overdue=true` lists them newest first with due date, days left and
 *   the overdue flag; `GET /staff/requests/{id}` shows one;
 * - `POST /staff/requests/{id}/close {outcome, note}`, `/decline {reason}`, `/restrict {reason}`
 *   and `/lift {reason}`.
 * Every route is recorded with StaffAudit before its answer (reads too: they show people's words).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../../platform/http/pagination';
import { parseWith } from '../../../platform/http/validation';
import { SubjectRequestsService } from '../application/subject-requests.service';
import { SubjectRequest } from '../domain/subject-request';
import { closeBody, reasonBody, requestId, staffOpenBody, statusField, subjectRequestCursor } from './subject-request-input';
import { StaffSubjectRequestView, staffSubjectRequestView, staffViewOf } from './subject-request-views';

const userParams = z.strictObject({ id: z.uuid({ error: 'must be a user id' }) });
const listQuery = z.strictObject({
  status: statusField.optional(),
  overdue: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  limit: z.unknown().optional(),
  cursor: z.unknown().optional(),
});
const listAnswer = z.object({
  data: z.array(staffSubjectRequestView),
  nextCursor: z.string().nullable(),
  open: z.number().int().describe('open requests in all'),
  overdue: z.number().int().describe('of those, past their due date'),
});

@ApiTags('staff')
@AccountApi()
@StaffRoles('compliance')
@Controller('staff')
export class StaffSubjectRequestsController {
  constructor(
    private readonly requests: SubjectRequestsService,
    private readonly audit: StaffAudit,
  ) {}

  @Post('users/:id/requests')
  @HttpCode(201)
  @ApiOperation({ summary: 'Record a data-subject request for a person (compliance)', description: 'For a request made by mail, phone or in person. Due 30 days from now.' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiBody({ schema: jsonSchema(staffOpenBody) })
  @ApiCreatedResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'user_not_found', 'person_erased')
  async open(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(userParams, params, 'query');
    const b = parseWith(staffOpenBody, body);
    const r = await this.requests.open({ userId: id, kind: b.kind, details: b.details ?? null, actor: staff.userId, reason: b.reason ?? null });
    return staffViewOf(r, { details: b.details ?? null, note: null }, this.requests.now());
  }

  @Get('requests')
  @ApiOperation({ summary: 'Data-subject requests, newest first, with due dates (compliance)', description: '`overdue=true`: only open requests past their due date.' })
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'closed', 'declined'] })
  @ApiQuery({ name: 'overdue', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ schema: jsonSchema(listAnswer) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() staff: Principal, @Query() query: Record<string, unknown>): Promise<Page<StaffSubjectRequestView> & { open: number; overdue: number }> {
    const q = parseWith(listQuery, query, 'query');
    const { limit, cursor } = pageParams(query, subjectRequestCursor);
    const now = this.requests.now();
    const rows = await this.requests.list({ status: q.status, overdueAt: q.overdue === 'true' ? now : undefined }, limit, cursor);
    const page = pageOf(rows, limit, (r) => ({ at: r.openedAt.toISOString(), id: r.requestId }), (r) => r);
    const data = await Promise.all(page.data.map(async (r) => staffViewOf(r, await this.requests.opened(r), now)));
    const counts = await this.requests.openCounts();
    await this.audit.record({ actor: staff.userId, action: 'compliance.requests.list', subjectUserId: null, details: { status: q.status ?? null, overdue: q.overdue === 'true', shown: data.length } });
    return { data, nextCursor: page.nextCursor, ...counts };
  }

  @Get('requests/:id')
  @ApiOperation({ summary: 'One data-subject request (compliance)' })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiOkResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found')
  async one(@CurrentPrincipal() staff: Principal, @Param() params: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const r = await this.requests.get(id);
    const view = await this.view(r);
    await this.audit.record({ actor: staff.userId, action: 'compliance.requests.read', subjectUserId: r.userId, details: { requestId: id } });
    return view;
  }

  @Post('requests/:id/close')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Close a data-subject request with what was done (compliance)',
    description: 'outcome: fulfilled, partially_fulfilled, no_data_held, or restricted (a restriction request: applies the restriction if it is not in force). 409 when it is closed or declined already.',
  })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiBody({ schema: jsonSchema(closeBody) })
  @ApiOkResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found', 'subject_request_closed', 'invalid_outcome', 'person_erased')
  async close(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const b = parseWith(closeBody, body);
    return this.view(await this.requests.close(id, { outcome: b.outcome, note: b.note, actor: staff.userId }));
  }

  @Post('requests/:id/decline')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decline a data-subject request, with the reason (compliance)' })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiBody({ schema: jsonSchema(reasonBody) })
  @ApiOkResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found', 'subject_request_closed', 'person_erased')
  async decline(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const b = parseWith(reasonBody, body);
    return this.view(await this.requests.decline(id, { reason: b.reason, actor: staff.userId }));
  }

  @Post('requests/:id/restrict')
  @HttpCode(200)
  @ApiOperation({
    summary: "Restrict processing of the person's account (compliance)",
    description: 'The proxy refuses the account (403 account_restricted) until lifted; the person can still sign in, read, export and erase. Applying it twice is one restriction. 409 on a closed request.',
  })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiBody({ schema: jsonSchema(reasonBody) })
  @ApiOkResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found', 'subject_request_closed')
  async restrict(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const b = parseWith(reasonBody, body);
    return this.view(await this.requests.restrict(id, { reason: b.reason, actor: staff.userId }));
  }

  @Post('requests/:id/lift')
  @HttpCode(200)
  @ApiOperation({ summary: "Lift the request's restriction: the proxy serves the account again (compliance)", description: '409 restriction_not_active when none is in force.' })
  @ApiParam({ name: 'id', description: 'data-subject request id' })
  @ApiBody({ schema: jsonSchema(reasonBody) })
  @ApiOkResponse({ schema: jsonSchema(staffSubjectRequestView) })
  @ApiErrors('validation_failed', 'subject_request_not_found', 'restriction_not_active')
  async lift(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffSubjectRequestView> {
    const { id } = parseWith(requestId, params, 'query');
    const b = parseWith(reasonBody, body);
    return this.view(await this.requests.lift(id, { reason: b.reason, actor: staff.userId }));
  }

  private async view(r: SubjectRequest): Promise<StaffSubjectRequestView> {
    return staffViewOf(r, await this.requests.opened(r), this.requests.now());
  }
}
