/**
 * `GET /api/pricing`: the public price list, no sign-in (publicPrices). Cacheable: a strong ETag
 * (the SHA-256 of the body, so it changes exactly when the answer does; If-None-Match answers
 * 304) and `Cache-Control: public, max-age` of at most five minutes, and never past the instant
 * a table already published takes effect, so no cache serves old prices after a switch.
 */
import { Controller, Get, Inject, Req, Res, UseFilters } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '../../../platform/http/openapi-decorators';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLOCK, Clock } from '../../../platform/clock';
import { ApiError } from '../../../platform/http/api-error';
import { ApiErrorFilter } from '../../../platform/http/api-error.filter';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { PriceBook } from '../price-book.service';
import { PriceTableVersion } from '../price-table-version';
import { publicPrices, publicPricesSchema } from '../public-prices';

export const PRICING_MAX_AGE_S = 300;

@ApiTags('pricing')
@UseFilters(ApiErrorFilter)
@Controller('api/pricing')
export class PublicPricingController {
  constructor(
    private readonly prices: PriceBook,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every model and what it costs per million tokens, margin included (public: no sign-in)' })
  @ApiHeader({ name: 'if-none-match', required: false, description: 'an ETag of an earlier answer: 304 when the prices are the same' })
  @ApiOkResponse({ schema: jsonSchema(publicPricesSchema), description: 'with ETag and Cache-Control' })
  @ApiResponse({ status: 304, description: 'the prices are those of the ETag sent' })
  @ApiErrors('unavailable')
  async list(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const now = this.clock.now();
    let table: PriceTableVersion;
    try {
      table = this.prices.at(now);
    } catch {
      throw new ApiError('unavailable', 'the gateway has not loaded its prices yet; try again shortly', { retryAfterSeconds: 5 });
    }
    const body = JSON.stringify(publicPrices(table));
    const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
    const next = this.prices.nextChangeAfter(now);
    const untilNext = next ? Math.floor((next.getTime() - now.getTime()) / 1000) : PRICING_MAX_AGE_S;
    void reply.header('etag', etag).header('cache-control', `public, max-age=${Math.max(0, Math.min(PRICING_MAX_AGE_S, untilNext))}`).header('vary', 'accept-encoding');
    if (matches(request.headers['if-none-match'], etag)) {
      await reply.code(304).send();
      return;
    }
    await reply.code(200).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}

/** If-None-Match: a list of ETags (weak ones compare by their value) or `*`. */
function matches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => t.trim().replace(/^W\//, ''));
  return tags.some((t) => t === etag || t === '*');
}
