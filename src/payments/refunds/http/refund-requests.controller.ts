/**
 * The account holder's refunds: `POST /api/billing/refund-requests {purchaseId, amount?, reason}`
 * asks for (part of) a purchase back, within 30 days of it and at most what of it is unspent;
 * `GET /api/billing/refund-requests` lists the account's requests, newest first;
 * `GET /api/billing/purchases` lists the purchases that still have credit (unspent or frozen),
 * with the date until which a refund may be asked.
 */
import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../../platform/http/pagination';
import { parseWith } from '../../../platform/http/validation';
import { PurchasesReader } from '../application/purchases';
import { RefundRequestsService } from '../application/refund-requests.service';
import { MAX_REFUND_REASON_CHARS } from '../domain/refund-request';
import { RefundRequestView, creditsText, purchaseView, purchaseViewOf, refundRequestView, viewOf } from './refund-views';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

const requestBody = z.strictObject({
  purchaseId: z.string({ error: 'is required' }).trim().min(1, 'is required').max(300, 'is too long'),
  amount: creditsText.optional(),
  reason: z
    .string({ error: 'is required: say why you want the refund' })
    .trim()
    .min(1, 'is required: say why you want the refund')
    .max(MAX_REFUND_REASON_CHARS, `must be at most ${MAX_REFUND_REASON_CHARS} characters`)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters'),
});

export const refundCursor = z.strictObject({ at: z.iso.datetime(), id: z.uuid() });
const listAnswer = z.object({ data: z.array(refundRequestView), nextCursor: z.string().nullable() });
const purchasesAnswer = z.object({ data: z.array(purchaseView) });

@ApiTags('usage and billing')
@AccountApi()
@Controller('api/billing')
export class RefundRequestsController {
  constructor(
    private readonly refunds: RefundRequestsService,
    private readonly purchases: PurchasesReader,
  ) {}

  @Post('refund-requests')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Ask for a refund of a purchase',
    description: `Within 30 days of the purchase; by default all of it still unspent (promotional credit is spent first, then purchases oldest first). Card refunds are whole cents (an amount with more than 2 decimals is refused; the default is rounded down). One open request per purchase. Staff approve or decline it.`,
  })
  @ApiBody({ schema: jsonSchema(requestBody) })
  @ApiCreatedResponse({ schema: jsonSchema(refundRequestView) })
  @ApiErrors('validation_failed', 'purchase_not_found', 'refund_window_passed', 'nothing_to_refund', 'refund_exceeds_unspent', 'refund_request_open', 'invalid_amount')
  async request(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<RefundRequestView> {
    const b = parseWith(requestBody, body);
    const r = await this.refunds.request({ accountId: me.accountId, userId: me.userId, purchaseId: b.purchaseId, amount: b.amount ?? null, reason: b.reason });
    return viewOf(r, b.reason);
  }

  @Get('refund-requests')
  @ApiOperation({ summary: "The account's refund requests, newest first" })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ schema: jsonSchema(listAnswer) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<RefundRequestView>> {
    const { limit, cursor } = pageParams(query, refundCursor);
    const rows = await this.refunds.list({ accountId: me.accountId }, limit, cursor);
    const page = pageOf(rows, limit, (r) => ({ at: r.requestedAt.toISOString(), id: r.requestId }), (r) => r);
    const data = await Promise.all(page.data.map(async (r) => viewOf(r, await this.refunds.reasonOf(r))));
    return { data, nextCursor: page.nextCursor };
  }

  @Get('purchases')
  @ApiOperation({ summary: 'Purchases that still have credit, newest first, with what a refund may return and until when' })
  @ApiOkResponse({ schema: jsonSchema(purchasesAnswer) })
  async purchasesList(@CurrentPrincipal() me: Principal): Promise<z.infer<typeof purchasesAnswer>> {
    return { data: (await this.purchases.withCredit(me.accountId)).map(purchaseViewOf) };
  }
}
