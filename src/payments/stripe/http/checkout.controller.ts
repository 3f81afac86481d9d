/**
 * POST /api/billing/checkout {amount}: a Stripe Checkout Session for that many dollars, paid on
 * Stripe's page; the credit arrives by webhook. `Idempotency-Key` is honoured through Stripe's
 * own idempotency (the same key answers the same session).
 */
import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { AccountApi, CurrentPrincipal } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiError } from '../../../platform/http/api-error';
import { IdempotencyKeys } from '../../../platform/http/idempotency';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { CheckoutService, centsOfDollars } from '../application/checkout.service';

const checkoutBody = z.object({ amount: z.unknown().optional() }).strict();
const checkoutAnswer = z.object({ url: z.string(), id: z.string() });

@ApiTags('usage and billing')
@AccountApi()
@Controller('api/billing')
export class CheckoutController {
  constructor(
    private readonly checkout: CheckoutService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('checkout')
  @HttpCode(201)
  @ApiOperation({ summary: 'Buy credits by card: a Stripe Checkout page for an amount of dollars ($1 = 1 credit)' })
  @ApiCreatedResponse({ schema: jsonSchema(checkoutAnswer) })
  @ApiErrors('validation_failed', 'stripe_not_configured', 'stripe_unavailable', 'idempotency_mismatch', 'invalid_idempotency_key')
  async create(@CurrentPrincipal() me: Principal, @Req() request: FastifyRequest, @Body() body: unknown): Promise<z.infer<typeof checkoutAnswer>> {
    const { amount } = parseWith(checkoutBody, body);
    if (amount === undefined) throw new ApiError('validation_failed', 'amount: is required (a string of dollars, such as "25.00")', { param: 'amount' });
    const parsed = centsOfDollars(amount, this.config.TOPUP_MAX_USD);
    if ('error' in parsed) throw new ApiError('validation_failed', `amount: ${parsed.error}`, { param: 'amount' });
    const key = IdempotencyKeys.keyOf(request);
    return this.checkout.create(me.accountId, parsed.cents, key);
  }
}
