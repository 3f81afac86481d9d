/**
 * Compliance staff and data exports (role compliance): `POST /staff/users/{id}/export {reason}`
 * queues an export of that person's data; `GET /staff/exports/{id}` answers its progress, then
 * the zip. Both recorded in the staff audit trail before anything is done or handed over.
 */
import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOperation, ApiParam, ApiProduces, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { staffReason } from '../../../staff/http/staff-reason';
import { ExportsService } from '../application/exports.service';
import { ExportView, exportView, exportViewOf, sendPending, sendZip } from './export-views';
import { exportIdParams } from './exports.controller';

const userParams = z.strictObject({ id: z.uuid({ error: 'must be a user id' }) });
const requestBody = z.strictObject({ reason: staffReason });
const path = (id: string) => `/staff/exports/${id}`;

@ApiTags('staff')
@AccountApi()
@StaffRoles('compliance')
@Controller('staff')
export class StaffExportsController {
  constructor(
    private readonly exports: ExportsService,
    private readonly audit: StaffAudit,
  ) {}

  @Post('users/:id/export')
  @HttpCode(202)
  @ApiOperation({ summary: "Export a person's data (compliance)", description: 'Queued like a self-service export; follow `download`. Audited.' })
  @ApiParam({ name: 'id', description: 'user id', format: 'uuid' })
  @ApiBody({ schema: jsonSchema(requestBody) })
  @ApiAcceptedResponse({ schema: jsonSchema(exportView) })
  @ApiErrors('validation_failed', 'user_not_found', 'export_in_progress', 'export_unavailable')
  async request(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<ExportView> {
    const { id } = parseWith(userParams, params, 'query');
    const { reason } = parseWith(requestBody, body);
    await this.exports.subjectOf(id); // user_not_found before anything is recorded
    await this.audit.record({ actor: staff.userId, action: 'exports.request', subjectUserId: id, reason, details: {} });
    const row = await this.exports.request(id, { actor: staff.userId });
    return exportViewOf(row, path(row.exportId));
  }

  @Get('exports/:id')
  @ApiOperation({ summary: 'An export of a person (compliance): progress (202), then the zip (200). Audited when handed over.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiProduces('application/zip', 'application/json')
  @ApiErrors('validation_failed', 'export_not_found', 'export_expired', 'export_failed')
  async get(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { id } = parseWith(exportIdParams, params, 'query');
    const row = await this.exports.get(id, null);
    if (row.status === 'queued' || row.status === 'building') return sendPending(reply, exportViewOf(row, path(id)));
    const body = this.exports.download(row);
    await this.audit.record({ actor: staff.userId, action: 'exports.download', subjectUserId: row.userId, details: { exportId: id } }).catch((err: Error) => {
      body.destroy();
      throw err;
    });
    sendZip(reply, row, body);
  }
}
