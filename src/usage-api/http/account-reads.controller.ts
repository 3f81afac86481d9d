/**
 * The account API's reads of money and usage: balance, transactions, usage reports (JSON or a
 * CSV download) and the request log with each request's receipt. Readable with a session or a
 * management key (scripts read usage); every answer is scoped to the caller's account.
 */
import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CLOCK, Clock } from '../../platform/clock';
import { ApiError, notFound } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../platform/http/pagination';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { LedgerService } from '../../ledger/application/ledger.service';
import { RequestLogRepository } from '../../proxy/usage/request-log.repository';
import { receiptOf } from '../../proxy/usage/receipt';
import { AccountReadsRepository, ReadModelNotReady } from '../application/account-reads.repository';
import { usageCsv } from '../domain/usage-csv';
import { MAX_USAGE_TOP, USAGE_GROUPS, isTwoDimensions, isWindowProblem, requestDays, usageWindow } from '../domain/usage-window';
import {
  balanceSchema,
  balanceView,
  pageSchema,
  receiptSchema,
  requestKeysetSchema,
  requestSummarySchema,
  requestSummaryView,
  requestsQuerySchema,
  transactionKeysetSchema,
  transactionSchema,
  transactionView,
  usageLineView,
  usageQuerySchema,
  usageSchema,
} from './account-reads.views';

const requestIdParam = z.object({ id: z.string().min(1).max(200) });

@ApiTags('usage and billing')
@AccountApi()
@Controller('api')
export class AccountReadsController {
  constructor(
    private readonly reads: AccountReadsRepository,
    private readonly requestLog: RequestLogRepository,
    private readonly ledger: LedgerService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('balance')
  @ApiOperation({
    summary: 'What the account can spend',
    description:
      'From the balances read model, which follows the ledger within a fraction of a second; `asOf` says up to when. ' +
      'An account the read model has not seen yet (just opened) is read from the ledger itself.',
  })
  @ApiOkResponse({ schema: jsonSchema(balanceSchema) })
  async balance(@CurrentPrincipal() me: Principal): Promise<z.infer<typeof balanceSchema>> {
    const projected = await this.reads.balance(me.accountId).catch((err: unknown) => {
      if (err instanceof ReadModelNotReady) return null;
      throw err;
    });
    if (projected) return balanceView(projected);
    // Not projected yet (a new account, or no worker has started): its stream is read instead.
    // For a new account that is a few events, and never shows it without its free requests.
    const { state, version } = await this.ledger.load(me.accountId);
    const { available, held, frozen, receivable, freeRequests } = state;
    return balanceView({ available, held, frozen, receivable, freeRequests, version, asOf: this.clock.now() });
  }

  @Get('transactions')
  @ApiOperation({ summary: 'Money in and out of the account outside requests (purchases, grants, refunds, adjustments), newest first' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOkResponse({ schema: jsonSchema(pageSchema(transactionSchema)) })
  @ApiErrors('validation_failed', 'unavailable')
  async transactions(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<ReturnType<typeof transactionView>>> {
    const { limit, cursor } = pageParams(query, transactionKeysetSchema);
    const rows = await this.reads.transactions(me.accountId, limit + 1, cursor).catch((err: unknown) => {
      if (err instanceof ReadModelNotReady) throw new ApiError('unavailable', 'the transactions list is not ready yet: no worker has started', { retryAfterSeconds: 5 });
      throw err;
    });
    return pageOf(rows, limit, (r) => r.keyset, transactionView);
  }

  @Get('usage')
  @ApiOperation({
    summary: 'Requests, tokens and cost summed by UTC day, model, key or project, or by day and model (or key)',
    description:
      'Days are UTC; `to` is included. Default: the last 30 days; at most 92 days. Every request of the request log counts, refused ones included (cost 0). ' +
      '`group_by=day,model` (or `day,key`) answers a line per day and model (or key) that had requests: the day in `group`, the model (or key id) in `subgroup`; ' +
      `with \`top=N\` (1 to ${MAX_USAGE_TOP}) the N costliest over the whole range are named and the rest are summed per day in one line with \`subgroup: null\`. ` +
      'By key, each line also has the key’s `name`. ' +
      '`format=csv` answers the same columns as a download (with two dimensions a `subgroup` column, empty for the rest; by key a `name` column).',
  })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', format: 'date' } })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'string', format: 'date' } })
  @ApiQuery({ name: 'group_by', required: false, schema: { type: 'string', enum: [...USAGE_GROUPS], default: 'day' } })
  @ApiQuery({ name: 'format', required: false, schema: { type: 'string', enum: ['json', 'csv'], default: 'json' } })
  @ApiQuery({ name: 'top', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_USAGE_TOP }, description: 'two dimensions only: how many subgroups to name' })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ schema: jsonSchema(usageSchema) })
  @ApiErrors('validation_failed')
  async usage(
    @CurrentPrincipal() me: Principal,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<z.infer<typeof usageSchema> | string> {
    const q = parseWith(usageQuerySchema, query, 'query');
    const window = usageWindow(q, this.clock.now());
    if (isWindowProblem(window)) throw new ApiError('validation_failed', `${window.field}: ${window.message}`, { param: window.field });
    const two = isTwoDimensions(q.group_by);
    if (q.top !== undefined && !two) throw new ApiError('validation_failed', 'top: only with two dimensions (group_by=day,model or day,key)', { param: 'top' });
    const data = (await this.reads.usage(me.accountId, window, q.group_by, q.top ?? null)).map(usageLineView);
    if (q.format === 'csv') {
      void reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-by-${q.group_by.replace(',', '-and-')}-${window.from}-to-${window.to}.csv"`);
      return usageCsv(data, { subgroup: two, name: q.group_by === 'key' || q.group_by === 'day,key' });
    }
    return { data, from: window.from, to: window.to, groupBy: q.group_by };
  }

  @Get('requests')
  @ApiOperation({
    summary: 'The request log (metadata only, never content), newest first; kept 90 days',
    description: 'Filters combine (all must hold); send the same filters with a page’s cursor to walk on through them.',
  })
  @ApiQuery({ name: 'key', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'model', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'status', required: false, schema: { type: 'integer', minimum: 100, maximum: 599 }, description: 'the HTTP status the client got' })
  @ApiQuery({ name: 'outcome', required: false, schema: { type: 'string', enum: ['ok', 'error'] }, description: 'ok: a status below 400; error: 400 and above' })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', format: 'date' }, description: 'the first UTC day' })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'string', format: 'date' }, description: 'the last UTC day (included)' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOkResponse({ schema: jsonSchema(pageSchema(requestSummarySchema)) })
  @ApiErrors('validation_failed')
  async requests(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<ReturnType<typeof requestSummaryView>>> {
    const filters = parseWith(requestsQuerySchema, query, 'query');
    const days = requestDays(filters);
    if (isWindowProblem(days)) throw new ApiError('validation_failed', `${days.field}: ${days.message}`, { param: days.field });
    const { limit, cursor } = pageParams(query, requestKeysetSchema);
    const rows = await this.reads.requests(
      me.accountId,
      { keyId: filters.key, model: filters.model, status: filters.status, outcome: filters.outcome, from: days.from, to: days.to },
      limit + 1,
      cursor,
    );
    return pageOf(rows, limit, (r) => r.keyset, requestSummaryView);
  }

  @Get('requests/:id')
  @ApiOperation({ summary: "One request's receipt (the same as GET /v1/generations/{id})" })
  @ApiParam({ name: 'id', description: 'the request id (x-request-id of its answer)' })
  @ApiOkResponse({ schema: jsonSchema(receiptSchema) })
  @ApiErrors('not_found', 'validation_failed')
  async request(@CurrentPrincipal() me: Principal, @Param() params: unknown): Promise<ReturnType<typeof receiptOf>> {
    const { id } = parseWith(requestIdParam, params, 'query');
    const row = await this.requestLog.find(id, me.accountId);
    if (!row) throw notFound('the request');
    return receiptOf(row);
  }
}
