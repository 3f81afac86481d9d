/**
 * Staff and refund requests (roles accountant or support): `GET /staff/refund-requests?status=`
 * lists them newest first; `POST /staff/refund-requests/{id}/approve {reason, txHash?}` and
 * `/decline {reason}` decide, recorded in the staff audit trail before anything is carried out.
 * A crypto purchase is approved with the hash of the operator's transaction that sent the funds
 * back (`txHash`); a card one never (Stripe makes it).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../../platform/http/pagination';
import { parseWith } from '../../../platform/http/validation';
import { staffReason } from '../../../staff/http/staff-reason';
import { RefundRequestsService } from '../application/refund-requests.service';
import { REFUND_STATUSES, RefundStatus } from '../domain/refund-request';
import { refundCursor } from './refund-requests.controller';
import { StaffRefundRequestView, staffRefundRequestView, staffViewOf } from './refund-views';

const idParams = z.strictObject({ id: z.uuid({ error: 'must be a refund request id' }) });
const statusQuery = z.enum(REFUND_STATUSES as [RefundStatus, ...RefundStatus[]], { error: `must be one of ${REFUND_STATUSES.join(', ')}` }).optional();
const approveBody = z.strictObject({ reason: staffReason, txHash: z.string().trim().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x and 64 hex digits').optional() });
const declineBody = z.strictObject({ reason: staffReason });
const listAnswer = z.object({ data: z.array(staffRefundRequestView), nextCursor: z.string().nullable() });

@ApiTags('staff')
@AccountApi()
@StaffRoles('accountant', 'support')
@Controller('staff/refund-requests')
export class StaffRefundRequestsController {
  constructor(
    private readonly refunds: RefundRequestsService,
    private readonly audit: StaffAudit,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Refund requests, newest first (accountant, support)' })
  @ApiQuery({ name: 'status', required: false, enum: REFUND_STATUSES })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ schema: jsonSchema(listAnswer) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() staff: Principal, @Query() query: Record<string, unknown>): Promise<Page<StaffRefundRequestView>> {
    const status = parseWith(z.strictObject({ status: statusQuery, limit: z.unknown().optional(), cursor: z.unknown().optional() }), query, 'query').status;
    const { limit, cursor } = pageParams(query, refundCursor);
    const rows = await this.refunds.list({ status }, limit, cursor);
    const page = pageOf(rows, limit, (r) => ({ at: r.requestedAt.toISOString(), id: r.requestId }), (r) => r);
    const data = await Promise.all(page.data.map(async (r) => staffViewOf(r, await this.refunds.reasonOf(r))));
    // The list shows people's own words (their reasons): recorded like every staff read of a person.
    await this.audit.record({ actor: staff.userId, action: 'refunds.list', subjectUserId: null, details: { status: status ?? null, shown: data.length } });
    return { data, nextCursor: page.nextCursor };
  }

  @Post(':id/approve')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve a refund request (accountant, support)',
    description:
      'Freezes the amount, then refunds it: through Stripe for a card purchase (idempotent: approving again retries and refunds once; 503 when Stripe cannot be reached, the amount stays frozen), or recorded with `txHash` for a crypto one. A refund Stripe refuses ends the request `failed` with the freeze released.',
  })
  @ApiParam({ name: 'id', description: 'refund request id' })
  @ApiBody({ schema: jsonSchema(approveBody) })
  @ApiOkResponse({ schema: jsonSchema(staffRefundRequestView) })
  @ApiErrors('validation_failed', 'refund_request_not_found', 'refund_request_closed', 'refund_request_decided', 'refund_tx_hash', 'refund_exceeds_unspent', 'insufficient_credits', 'refund_provider_unavailable', 'stripe_not_configured')
  async approve(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffRefundRequestView> {
    const { id } = parseWith(idParams, params, 'query');
    const b = parseWith(approveBody, body);
    const r = await this.refunds.approve(id, { actor: staff.userId, reason: b.reason, txHash: b.txHash ?? null });
    return staffViewOf(r, await this.refunds.reasonOf(r));
  }

  @Post(':id/decline')
  @HttpCode(200)
  @ApiOperation({ summary: 'Decline a refund request (accountant, support)', description: 'Releases any amount an approval froze.' })
  @ApiParam({ name: 'id', description: 'refund request id' })
  @ApiBody({ schema: jsonSchema(declineBody) })
  @ApiOkResponse({ schema: jsonSchema(staffRefundRequestView) })
  @ApiErrors('validation_failed', 'refund_request_not_found', 'refund_request_closed', 'refund_request_decided')
  async decline(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<StaffRefundRequestView> {
    const { id } = parseWith(idParams, params, 'query');
    const b = parseWith(declineBody, body);
    const r = await this.refunds.decline(id, { actor: staff.userId, reason: b.reason });
    return staffViewOf(r, await this.refunds.reasonOf(r));
  }
}
