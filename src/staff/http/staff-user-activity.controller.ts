/**
 * Support staff on one person's activity (role support): `GET /staff/users/{id}/keys` (the keys'
 * metadata, as `tollgate keys list --account` shows them; never a hash or a secret) and
 * `GET /staff/users/{id}/requests?from=&to=` (the request log with each receipt: tokens, unit
 * prices, price version, hold, cost, estimated flag; metadata only, never content), newest
 * first, a keyset page at a time. Every read is recorded in the staff audit trail before its
 * answer, a probe of an unknown id included.
 */
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { UserError } from '../../accounts/domain/user.decider';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { CLOCK, Clock } from '../../platform/clock';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../platform/http/pagination';
import { parseWith } from '../../platform/http/validation';
import { KeyView, keyView, keyViewSchema } from '../../keys/http/key-view';
import { receiptOf } from '../../proxy/usage/receipt';
import { pageSchema, receiptSchema, requestKeysetSchema } from '../../usage-api/http/account-reads.views';
import { UserActivity } from '../application/user-activity.service';
import { requestWindowFields, windowProblem } from '../application/request-window';

const userId = z.strictObject({ id: z.uuid({ error: 'must be a user id' }) });
const requestsQuery = z.strictObject({
  ...requestWindowFields,
  limit: z.unknown().optional(),
  cursor: z.unknown().optional(),
});
const keysAnswer = z.object({ userId: z.uuid(), accountId: z.uuid(), data: z.array(keyViewSchema) });

@ApiTags('staff')
@AccountApi()
@StaffRoles('support')
@Controller('staff/users')
export class StaffUserActivityController {
  constructor(
    private readonly activity: UserActivity,
    private readonly audit: StaffAudit,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get(':id/keys')
  @ApiOperation({ summary: "A person's API keys: metadata only, never a secret or hash (support)", description: 'Revoked and expired keys included. Recorded in the audit trail.' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiOkResponse({ schema: jsonSchema(keysAnswer) })
  @ApiErrors('validation_failed', 'user_not_found')
  async keys(@CurrentPrincipal() staff: Principal, @Param() params: unknown): Promise<z.infer<typeof keysAnswer>> {
    const { id } = parseWith(userId, params, 'query');
    const { user, keys } = await this.activity.keysOf(id).catch((err: unknown) => this.probe(staff, id, 'users.keys', err));
    const now = this.clock.now();
    const data: KeyView[] = keys.map((k) => keyView(k, now));
    await this.audit.record({ actor: staff.userId, action: 'users.keys', subjectUserId: id, details: { found: true, shown: data.length } });
    return { userId: user.userId, accountId: user.accountId, data };
  }

  @Get(':id/requests')
  @ApiOperation({
    summary: "A person's request log with receipts, newest first (support)",
    description: 'Metadata only, never content; kept 90 days. `from` and `to` bound the start time, both included (a bare date: its start, its end; UTC). Recorded in the audit trail.',
  })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', example: '2026-03-01' } })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'string', example: '2026-03-31T23:59:59Z' } })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOkResponse({ schema: jsonSchema(pageSchema(receiptSchema)) })
  @ApiErrors('validation_failed', 'user_not_found')
  async requests(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Query() query: Record<string, unknown>): Promise<Page<ReturnType<typeof receiptOf>>> {
    const { id } = parseWith(userId, params, 'query');
    const q = parseWith(requestsQuery, query, 'query');
    const problem = windowProblem(q);
    if (problem) throw new ApiError('validation_failed', `from: ${problem}`, { param: 'from' });
    const { limit, cursor } = pageParams(query, requestKeysetSchema);
    const window = { from: q.from ?? null, to: q.to ?? null };
    const { rows } = await this.activity.requestsOf(id, window, limit + 1, cursor).catch((err: unknown) => this.probe(staff, id, 'users.requests', err));
    const page = pageOf(rows, limit, (r) => r.keyset, (r) => receiptOf(r.row));
    await this.audit.record({
      actor: staff.userId,
      action: 'users.requests',
      subjectUserId: id,
      details: { found: true, from: window.from?.toISOString() ?? null, to: window.to?.toISOString() ?? null, shown: page.data.length },
    });
    return page;
  }

  /** An unknown person: the probe is recorded like any other read of that id, then answered 404. */
  private async probe(staff: Principal, id: string, action: string, err: unknown): Promise<never> {
    if (err instanceof UserError && err.code === 'user_not_found') {
      await this.audit.record({ actor: staff.userId, action, subjectUserId: id, details: { found: false } });
    }
    throw err;
  }
}
