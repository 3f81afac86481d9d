/**
 * Breach incidents for staff (role compliance; admin holds every role), the same verbs as
 * `tollgate compliance incident`:
 *   GET  /staff/incidents                    the incidents, newest first
 *   POST /staff/incidents                    open {title, nature, dataCategories, peopleCategories,
 *                                            approxPeople, approxRecords, consequences, measures,
 *                                            contact, detectedAt?, reason?}
 *   POST /staff/incidents/{id}/confirm       {reason}: starts the 72-hour clock (409 twice)
 *   POST /staff/incidents/{id}/select        {by: users|activity|data_category|everyone, …, reason}
 *   GET  /staff/incidents/{id}/preview       the notice people will receive
 *   POST /staff/incidents/{id}/notify        {reason}: queues a notice for everyone selected (409 before confirm)
 *   GET  /staff/incidents/{id}               status: counts, time left, the warning
 *   GET  /staff/incidents/{id}/report        the supervisory authority's record (?format=markdown)
 *   POST /staff/incidents/{id}/close         {reason}: the closing summary
 * Every step is recorded in the staff audit trail before it is carried out.
 */
import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { staffReason } from '../../../staff/http/staff-reason';
import { IncidentsService } from '../application/incidents.service';
import { reportMarkdown } from '../domain/incident-report';
import { factsFields, factsOf, incidentView, listView, selectionSchema, statusView } from './incident-schemas';

const idParams = z.strictObject({ id: z.uuid({ error: 'must be an incident id' }) });
const openBody = z.strictObject({ ...factsFields, reason: staffReason.optional() });
const reasonBody = z.strictObject({ reason: staffReason });
const selectBody = z.looseObject({ reason: staffReason });
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const reportQuery = z.strictObject({ format: z.enum(['json', 'markdown'], { error: 'must be json or markdown' }).default('json') });

@ApiTags('staff')
@AccountApi()
@StaffRoles('compliance')
@Controller('staff/incidents')
export class StaffIncidentsController {
  constructor(private readonly incidents: IncidentsService) {}

  @Get()
  @ApiOperation({ summary: 'Breach incidents, newest first (compliance)' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiErrors('validation_failed')
  async list(@Query() query: unknown) {
    const { limit } = parseWith(listQuery, query, 'query');
    return { data: (await this.incidents.list(limit)).map(listView) };
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Open a breach incident (compliance)', description: 'The facts of GDPR Art. 33(3); the 72-hour clock starts at confirmation.' })
  @ApiErrors('validation_failed', 'invalid_incident')
  async open(@CurrentPrincipal() staff: Principal, @Body() body: unknown) {
    const b = parseWith(openBody, body);
    const i = await this.incidents.open(factsOf(b), { actor: staff.userId, reason: b.reason ?? `opened: ${b.title}` });
    return incidentView(i);
  }

  @Get(':id')
  @ApiOperation({ summary: "An incident's status: notices sent and pending, time left on the 72-hour clock, and a warning under 24 hours (compliance)" })
  @ApiParam({ name: 'id' })
  @ApiErrors('validation_failed', 'incident_not_found')
  async status(@Param() params: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    return statusView(await this.incidents.status(id));
  }

  @Post(':id/confirm')
  @HttpCode(200)
  @ApiOperation({ summary: 'Confirm the breach: the 72-hour clock starts now (compliance)' })
  @ApiErrors('validation_failed', 'incident_not_found', 'incident_already_confirmed', 'incident_closed')
  async confirm(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    const b = parseWith(reasonBody, body);
    return incidentView(await this.incidents.confirm(id, { actor: staff.userId, reason: b.reason }));
  }

  @Post(':id/select')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Select the people affected (compliance)',
    description: '`by`: `users` (`userIds`, at most 10,000), `activity` (`from`, `to`: a request or a session in that window), `data_category` (`category`), or `everyone`. Each person once per incident; 409 selection_empty when it adds nobody.',
  })
  @ApiErrors('validation_failed', 'incident_not_found', 'incident_closed', 'selection_empty', 'unknown_people')
  async select(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    const { reason, ...rest } = parseWith(selectBody, body);
    const selection = parseWith(selectionSchema, rest);
    const { incident, added, leftOutErased } = await this.incidents.select(id, selection, { actor: staff.userId, reason });
    return { added, leftOutErased, incident: incidentView(incident) };
  }

  @Get(':id/preview')
  @ApiOperation({ summary: 'The notice the people affected will receive (compliance)' })
  @ApiErrors('validation_failed', 'incident_not_found')
  async preview(@Param() params: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    return this.incidents.preview(id);
  }

  @Post(':id/notify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue a notice for everyone selected and not yet queued (compliance)', description: 'Sent by the worker, retried with backoff; each person once.' })
  @ApiErrors('validation_failed', 'incident_not_found', 'incident_not_confirmed', 'nobody_selected', 'incident_closed')
  async notify(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    const b = parseWith(reasonBody, body);
    const { incident, queued } = await this.incidents.notify(id, { actor: staff.userId, reason: b.reason });
    return { queued, incident: incidentView(incident) };
  }

  @Get(':id/report')
  @ApiOperation({ summary: "The supervisory authority's record: Art. 33(3) fields, timeline, notices sent and failed (compliance)" })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'markdown'] })
  @ApiErrors('validation_failed', 'incident_not_found')
  @Header('cache-control', 'no-store')
  async report(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { id } = parseWith(idParams, params, 'query');
    const { format } = parseWith(reportQuery, query, 'query');
    const report = await this.incidents.report(id, staff.userId);
    if (format === 'json') return report;
    void reply.type('text/markdown; charset=utf-8');
    return reportMarkdown(report);
  }

  @Post(':id/close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the incident with a summary (compliance); 409 while notices are still being sent' })
  @ApiErrors('validation_failed', 'incident_not_found', 'incident_closed', 'notices_pending')
  async close(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown) {
    const { id } = parseWith(idParams, params, 'query');
    const b = parseWith(reasonBody, body);
    return incidentView(await this.incidents.close(id, { actor: staff.userId, reason: b.reason }));
  }
}
