/**
 * POST /api/billing/redeem: a person (session) or a script (management key) redeems a code
 * for their account. Unknown, used and revoked codes get one answer (`code_invalid`), so the
 * route tells nobody which codes exist; an expired code says so (`code_expired`), since only
 * a real code can be expired. Limited per account and per client address, by the hour, in Redis.
 */
import { Body, Controller, HttpCode, Inject, Logger, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '../../../platform/http/openapi-decorators';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { AccountApi, CurrentPrincipal } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { LimitsStoreDown, MagicLinkLimiter } from '../../../auth/magic-link/magic-link-limiter';
import { SecretBox } from '../../../platform/crypto/secret-box';
import { ApiError } from '../../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { formatCredits } from '../../../shared/money';
import { CodesService } from '../application/codes.service';

const redeemBody = z.object({ code: z.string().min(1).max(64) }).strict();
const redeemAnswer = z.object({ amount: z.string(), available: z.string() });

@ApiTags('usage and billing')
@AccountApi()
@Controller('api/billing')
export class RedeemController {
  private readonly log = new Logger('RedeemController');

  constructor(
    private readonly codes: CodesService,
    private readonly limiter: MagicLinkLimiter,
    private readonly box: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('redeem')
  @HttpCode(200)
  @ApiOperation({ summary: 'Redeem a promotional code: its credits are added to the account' })
  @ApiOkResponse({ schema: jsonSchema(redeemAnswer) })
  @ApiErrors('validation_failed', 'code_invalid', 'code_expired', 'batch_already_redeemed', 'rate_limited', 'unavailable')
  async redeem(@CurrentPrincipal() me: Principal, @Req() request: FastifyRequest, @Body() body: unknown): Promise<z.infer<typeof redeemAnswer>> {
    const { code } = parseWith(redeemBody, body);
    let admission;
    try {
      admission = await this.limiter.admit([
        { id: `redeem-account:${me.accountId}`, limit: this.config.REDEEM_PER_ACCOUNT_PER_HOUR },
        { id: `redeem-client:${this.box.lookupHash('redeem client', request.ip)}`, limit: this.config.REDEEM_PER_CLIENT_PER_HOUR },
      ]);
    } catch (err) {
      if (!(err instanceof LimitsStoreDown)) throw err;
      this.log.warn(`code redemption refused while the rate-limit store is away: ${err.message}`);
      throw new ApiError('unavailable', 'codes cannot be redeemed right now; try again shortly', { retryAfterSeconds: 5 });
    }
    if (!admission.ok) throw new ApiError('rate_limited', 'too many redemption attempts this hour; try again later', { retryAfterSeconds: admission.retryAfterSeconds });
    const { amount, available } = await this.codes.redeem(me.accountId, code);
    return { amount: formatCredits(amount), available: formatCredits(available) };
  }
}
