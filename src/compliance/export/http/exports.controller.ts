/**
 * A person's own data exports: `POST /api/me/export` asks for one (202; one at a time, else
 * 409 export_in_progress); `GET /api/me/exports/{id}` answers 202 with the progress while it is
 * built, then the zip (200, application/zip) for 24 hours, then 410 export_expired. Another
 * person's export is 404. Session only: a management key (a script's) does not take a person's
 * personal data out.
 */
import { Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { ExportsService } from '../application/exports.service';
import { ExportView, exportView, exportViewOf, sendPending, sendZip } from './export-views';

export const exportIdParams = z.strictObject({ id: z.uuid({ error: 'must be an export id' }) });
const listAnswer = z.object({ data: z.array(exportView) });
const path = (id: string) => `/api/me/exports/${id}`;

@ApiTags('account')
@AccountApi()
@SessionOnly()
@Controller('api/me')
export class ExportsController {
  constructor(private readonly exports: ExportsService) {}

  @Post('export')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Ask for a copy of your data (a zip of JSON and CSV files)',
    description: 'Built in the background; follow `download` for its progress and then the zip, served for 24 hours. One export at a time.',
  })
  @ApiAcceptedResponse({ schema: jsonSchema(exportView) })
  @ApiErrors('export_in_progress', 'export_unavailable')
  async request(@CurrentPrincipal() me: Principal): Promise<ExportView> {
    const row = await this.exports.request(me.userId, { actor: me.userId });
    return exportViewOf(row, path(row.exportId));
  }

  @Get('exports')
  @ApiOperation({ summary: 'Your recent exports, newest first' })
  @ApiOkResponse({ schema: jsonSchema(listAnswer) })
  async list(@CurrentPrincipal() me: Principal): Promise<z.infer<typeof listAnswer>> {
    return { data: (await this.exports.listOf(me.userId)).map((r) => exportViewOf(r, path(r.exportId))) };
  }

  @Get('exports/:id')
  @ApiOperation({ summary: 'An export: its progress (202) while it is built, then the zip (200)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiProduces('application/zip', 'application/json')
  @ApiAcceptedResponse({ schema: jsonSchema(exportView) })
  @ApiErrors('validation_failed', 'export_not_found', 'export_expired', 'export_failed')
  async get(@CurrentPrincipal() me: Principal, @Param() params: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { id } = parseWith(exportIdParams, params, 'query');
    const row = await this.exports.get(id, me.userId);
    if (row.status === 'queued' || row.status === 'building') return sendPending(reply, exportViewOf(row, path(id)));
    sendZip(reply, row, this.exports.download(row));
  }
}
